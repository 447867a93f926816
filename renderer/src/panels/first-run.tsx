// First run: what the probe found and the model the team waits for (the plan's recommendation), whose download
// the core starts by itself (its progress shows here) or the one-click button starts; or an Ollama model, or any
// other model. Once the model is there the bots use it and the team room opens.
import { useState } from 'react';
import type { AppStatus, ProbeResult, PullJob } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { ProgressBar } from '../components/progress-bar.tsx';
import { formatBytes, shortModelName } from '../lib/format.ts';
import { useFirstRunSetup, type PendingDownload } from './use-first-run.ts';

export interface FirstRunProps {
  jobs: Map<string, PullJob>;
  /** What the core says the team waits for (status.firstRun); absent when there is no bot at all yet. */
  waiting?: AppStatus['firstRun'];
  onDone: (settings: Settings) => void;
}

export function FirstRun({ jobs, waiting, onDone }: FirstRunProps) {
  const { probe, error, pending, job, busy, download, adoptModel, cancel, chooseAnother } = useFirstRunSetup(
    jobs,
    waiting,
    onDone,
  );

  if (!probe) {
    return (
      <section className="first-run" aria-label="Welcome">
        <h1>Welcome to Agent Room</h1>
        <p>{error ?? 'Looking at this computer…'}</p>
      </section>
    );
  }
  const recommended = waiting?.modelsToDownload[0] ?? probe.plan.recommendedModels[0];
  const ollamaModels = probe.report.ollama?.models ?? [];
  return (
    <section className="first-run" aria-labelledby="first-run-title">
      <h1 id="first-run-title">Welcome to Agent Room</h1>
      <p className="lead">Your private AI team runs on this computer. Here is what it found:</p>
      <ProbeFacts probe={probe} />
      {pending && job ? (
        <DownloadStep
          pending={pending}
          job={job}
          onCancel={() => cancel(job.jobId)}
          onRetry={() => void download(pending.ref)}
          onChooseAnother={chooseAnother}
        />
      ) : (
        <RecommendedStep
          recommended={recommended}
          reason={waiting?.reason}
          busy={busy}
          onDownload={(ref) => void download(ref)}
        />
      )}
      {ollamaModels.length > 0 && (
        <OllamaStep models={ollamaModels} busy={busy} onUse={(m) => void adoptModel(`ollama:${m}`)} />
      )}
      <OtherModelForm busy={busy} onDownload={(ref) => void download(ref)} />
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** What the probe found about this computer, and the plan's reasons. */
function ProbeFacts({ probe: { report, plan } }: { probe: ProbeResult }) {
  return (
    <>
      <dl className="facts card">
        <dt>System</dt>
        <dd>
          {report.os.platform} {report.os.release ?? ''} ({report.os.arch})
        </dd>
        <dt>Processor</dt>
        <dd>
          {report.cpu.model}, {report.cpu.cores} cores
        </dd>
        <dt>Memory</dt>
        <dd>{formatBytes(report.memory.totalBytes)}</dd>
        <dt>Graphics</dt>
        <dd>
          {report.gpus.length
            ? report.gpus
                .map((g) => `${g.vendor} ${g.model}${g.vramBytes ? ` (${formatBytes(g.vramBytes)})` : ''}`)
                .join(', ')
            : 'no GPU found'}
        </dd>
        <dt>Inference</dt>
        <dd data-testid="plan-backend">
          {plan.backend}, {plan.threads} {plan.threads === 1 ? 'thread' : 'threads'}
        </dd>
        {report.ollama && (
          <>
            <dt>Ollama</dt>
            <dd>
              found at {report.ollama.url}
              {report.ollama.version ? ` (${report.ollama.version})` : ''}
            </dd>
          </>
        )}
      </dl>
      {plan.reasons.length > 0 && (
        <ul className="reasons muted">
          {plan.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
    </>
  );
}

interface DownloadStepProps {
  pending: PendingDownload;
  job: PullJob;
  onCancel: () => void;
  onRetry: () => void;
  onChooseAnother: () => void;
}

/** The download under way: its progress, then cancel, or try again or choose another when it failed. */
function DownloadStep({ pending, job, onCancel, onRetry, onChooseAnother }: DownloadStepProps) {
  return (
    <div className="card recommend" aria-label="Download">
      <h2>Downloading {shortModelName(pending.ref)}</h2>
      <p className="muted small model-ref">{pending.ref}</p>
      <ProgressBar job={job} label={`Download of ${shortModelName(pending.ref)}`} />
      {job.state === 'done' && <p className="muted">Starting your team…</p>}
      <div className="row">
        {job.state === 'running' && (
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        {(job.state === 'failed' || job.state === 'cancelled') && (
          <>
            <button type="button" className="button button-primary" onClick={onRetry}>
              Try again
            </button>
            <button type="button" className="button" onClick={onChooseAnother}>
              Choose another model
            </button>
          </>
        )}
      </div>
    </div>
  );
}

/** The model the team waits for (or the plan recommends), with its one-click download. */
function RecommendedStep({
  recommended,
  reason,
  busy,
  onDownload,
}: {
  recommended: string | undefined;
  reason: string | undefined;
  busy: boolean;
  onDownload: (ref: string) => void;
}) {
  return (
    <div className="card recommend">
      <h2>Recommended model</h2>
      {recommended ? (
        <>
          <p>
            <strong>{shortModelName(recommended)}</strong> <span className="muted small model-ref">{recommended}</span>
          </p>
          {reason && <p className="muted small">{reason}</p>}
          <button
            type="button"
            className="button button-primary button-large"
            onClick={() => onDownload(recommended)}
            disabled={busy}
          >
            Download and start
          </button>
        </>
      ) : (
        <p>No recommendation for this computer; enter a model below.</p>
      )}
    </div>
  );
}

/** The models Ollama already has, one button each. */
function OllamaStep({ models, busy, onUse }: { models: string[]; busy: boolean; onUse: (model: string) => void }) {
  return (
    <div className="card">
      <h2>Or use a model Ollama already has</h2>
      <div className="row wrap">
        {models.map((m) => (
          <button
            key={m}
            type="button"
            className="button"
            onClick={() => onUse(m)}
            disabled={busy}
            aria-label={`Use Ollama model ${m}`}
          >
            {m}
          </button>
        ))}
      </div>
    </div>
  );
}

/** Any other model by reference: hf:, a URL or ollama:. */
function OtherModelForm({ busy, onDownload }: { busy: boolean; onDownload: (ref: string) => void }) {
  const [custom, setCustom] = useState('');
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        if (custom.trim()) onDownload(custom.trim());
      }}
    >
      <label className="grow">
        <span className="label">Another model (hf:, URL or ollama:)</span>
        <input
          value={custom}
          onChange={(e) => setCustom(e.target.value)}
          placeholder="hf:user/repo:Q4_K_M or https://…/model.gguf"
        />
      </label>
      <button type="submit" className="button" disabled={!custom.trim() || busy}>
        Download
      </button>
    </form>
  );
}
