// First run: what the probe found and the model the team waits for (the plan's recommendation) with a
// one-click download, or an Ollama model, or any other model; once the model is there the bots use it
// and the team room opens.
import { useEffect, useState } from 'react';
import type { AppStatus, ProbeResult, PullJob } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { ProgressBar } from '../components/progress-bar.tsx';
import { errorText, useApi } from '../hooks/control.ts';
import { botFromModel, formatBytes, shortModelName } from '../lib/format.ts';
import { teamWithModel } from '../lib/first-run.ts';

export interface FirstRunProps {
  jobs: Map<string, PullJob>;
  /** What the core says the team waits for (status.firstRun); absent when there is no bot at all yet. */
  waiting?: AppStatus['firstRun'];
  onDone: (settings: Settings) => void;
}

export function FirstRun({ jobs, waiting, onDone }: FirstRunProps) {
  const api = useApi();
  const [probe, setProbe] = useState<ProbeResult>();
  const [error, setError] = useState<string>();
  const [pending, setPending] = useState<{ jobId: string; ref: string }>();
  const [custom, setCustom] = useState('');

  useEffect(() => {
    api.probe.get().then(setProbe, (err: unknown) => setError(errorText(err)));
  }, [api]);

  /** Gives the model to the bots waiting for a download, or makes the first bot when there is none. */
  const adoptModel = async (model: string) => {
    try {
      // Fresh settings: the core may have rewritten a bot's model to the downloaded file meanwhile.
      const current = await api.settings.get();
      const bots = teamWithModel(current.bots, model, waiting?.modelsToDownload ?? [], botFromModel(model));
      onDone(await api.settings.update({ bots }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const download = async (ref: string) => {
    setError(undefined);
    try {
      const { jobId } = await api.models.pull({ ref });
      setPending({ jobId, ref });
    } catch (err) {
      setError(errorText(err));
    }
  };

  const job = pending ? jobs.get(pending.jobId) : undefined;
  useEffect(() => {
    if (pending && job?.state === 'done') void adoptModel(pending.ref);
  }, [job?.state]);
  const busy = Boolean(pending) && job?.state !== 'failed' && job?.state !== 'cancelled';

  if (!probe) {
    return (
      <section className="first-run" aria-label="Welcome">
        <h1>Welcome to Agent Room</h1>
        <p>{error ?? 'Looking at this computer…'}</p>
      </section>
    );
  }
  const { report, plan } = probe;
  const recommended = waiting?.modelsToDownload[0] ?? plan.recommendedModels[0];
  const ollamaModels = report.ollama?.models ?? [];
  return (
    <section className="first-run" aria-labelledby="first-run-title">
      <h1 id="first-run-title">Welcome to Agent Room</h1>
      <p className="lead">Your private AI team runs on this computer. Here is what it found:</p>
      <dl className="facts card">
        <dt>System</dt><dd>{report.os.platform} {report.os.release ?? ''} ({report.os.arch})</dd>
        <dt>Processor</dt><dd>{report.cpu.model}, {report.cpu.cores} cores</dd>
        <dt>Memory</dt><dd>{formatBytes(report.memory.totalBytes)}</dd>
        <dt>Graphics</dt><dd>{report.gpus.length ? report.gpus.map((g) => `${g.vendor} ${g.model}${g.vramBytes ? ` (${formatBytes(g.vramBytes)})` : ''}`).join(', ') : 'no GPU found'}</dd>
        <dt>Inference</dt><dd data-testid="plan-backend">{plan.backend}, {plan.threads} {plan.threads === 1 ? 'thread' : 'threads'}</dd>
        {report.ollama && <><dt>Ollama</dt><dd>found at {report.ollama.url}{report.ollama.version ? ` (${report.ollama.version})` : ''}</dd></>}
      </dl>
      {plan.reasons.length > 0 && (
        <ul className="reasons muted">{plan.reasons.map((r) => <li key={r}>{r}</li>)}</ul>
      )}
      {pending && job ? (
        <div className="card recommend" aria-label="Download">
          <h2>Downloading {shortModelName(pending.ref)}</h2>
          <p className="muted small model-ref">{pending.ref}</p>
          <ProgressBar job={job} label={`Download of ${shortModelName(pending.ref)}`} />
          {job.state === 'done' && <p className="muted">Starting your team…</p>}
          <div className="row">
            {job.state === 'running' && (
              <button type="button" className="button" onClick={() => void api.models.cancel({ jobId: job.jobId })}>Cancel</button>
            )}
            {(job.state === 'failed' || job.state === 'cancelled') && (
              <>
                <button type="button" className="button button-primary" onClick={() => void download(pending.ref)}>Try again</button>
                <button type="button" className="button" onClick={() => setPending(undefined)}>Choose another model</button>
              </>
            )}
          </div>
        </div>
      ) : (
        <div className="card recommend">
          <h2>Recommended model</h2>
          {recommended ? (
            <>
              <p><strong>{shortModelName(recommended)}</strong> <span className="muted small model-ref">{recommended}</span></p>
              {waiting?.reason && <p className="muted small">{waiting.reason}</p>}
              <button type="button" className="button button-primary button-large" onClick={() => void download(recommended)} disabled={busy}>
                Download and start
              </button>
            </>
          ) : (
            <p>No recommendation for this computer; enter a model below.</p>
          )}
        </div>
      )}
      {ollamaModels.length > 0 && (
        <div className="card">
          <h2>Or use a model Ollama already has</h2>
          <div className="row wrap">
            {ollamaModels.map((m) => (
              <button key={m} type="button" className="button" onClick={() => void adoptModel(`ollama:${m}`)} disabled={busy} aria-label={`Use Ollama model ${m}`}>{m}</button>
            ))}
          </div>
        </div>
      )}
      <form className="row" onSubmit={(e) => { e.preventDefault(); if (custom.trim()) void download(custom.trim()); }}>
        <label className="grow"><span className="label">Another model (hf:, URL or ollama:)</span><input value={custom} onChange={(e) => setCustom(e.target.value)} placeholder="hf:user/repo:Q4_K_M or https://…/model.gguf" /></label>
        <button type="submit" className="button" disabled={!custom.trim() || busy}>Download</button>
      </form>
      {error && <p className="error-text" role="alert">{error}</p>}
    </section>
  );
}
