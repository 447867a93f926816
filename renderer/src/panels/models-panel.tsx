// Model manager: models by source (local files, found on disk, Ollama, endpoints), downloads and pulls
// with progress bars and cancel, and assigning a model to a bot.
import { useEffect, useState } from 'react';
import type { BotInfo, ModelInfo, PullJob } from '../../../main/common/contract.ts';
import { ProgressBar } from '../components/progress-bar.tsx';
import { errorText, useApi } from '../hooks/control.ts';
import { formatBytes } from '../lib/format.ts';

const GROUPS: { title: string; match: (m: ModelInfo) => boolean }[] = [
  { title: 'Downloaded', match: (m) => m.source === 'file' || m.source === 'hf' },
  { title: 'Found on this computer', match: (m) => ['ollama-store', 'lmstudio', 'jan', 'folder'].includes(m.source) },
  { title: 'Ollama', match: (m) => m.source === 'ollama' },
  { title: 'Endpoints', match: (m) => m.source === 'openai' },
];

export function ModelsPanel({
  bots,
  jobs,
  onBotsChanged,
}: {
  bots: BotInfo[];
  jobs: Map<string, PullJob>;
  onBotsChanged: () => void;
}) {
  const api = useApi();
  const [models, setModels] = useState<ModelInfo[]>();
  const [ref, setRef] = useState('');
  const [error, setError] = useState<string>();
  const [message, setMessage] = useState<string>();
  const doneCount = [...jobs.values()].filter((j) => j.state === 'done').length;

  useEffect(() => {
    api.models.list().then(setModels, (err: unknown) => setError(errorText(err)));
  }, [api, doneCount]);

  const pull = async (target: string) => {
    setError(undefined);
    try {
      await api.models.pull({ ref: target.trim() });
      setRef('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  const assign = async (botId: string, model: ModelInfo) => {
    setError(undefined);
    try {
      const bot = await api.bots.setModel({ botId, model: model.ref });
      setMessage(`${bot.config.displayName} now uses ${model.name}.`);
      onBotsChanged();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const activeJobs = [...jobs.values()].filter(
    (j) => j.state === 'queued' || j.state === 'running' || j.state === 'failed',
  );

  return (
    <section className="panel" aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      <PullForm value={ref} onChange={setRef} onPull={(target) => void pull(target)} />
      <p id="pull-help" className="muted">
        A Hugging Face reference or a GGUF URL downloads into the data folder; ollama:&lt;tag&gt; asks Ollama to pull
        it.
      </p>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {message && (
        <p className="ok-text" role="status">
          {message}
        </p>
      )}
      {activeJobs.length > 0 && (
        <DownloadsCard jobs={activeJobs} onCancel={(jobId) => void api.models.cancel({ jobId })} />
      )}
      {!models ? (
        <p>Looking for models…</p>
      ) : (
        GROUPS.map((g) => {
          const list = models.filter(g.match);
          if (list.length === 0) return null;
          return <ModelGroup key={g.title} title={g.title} models={list} bots={bots} onAssign={assign} />;
        })
      )}
      {models?.length === 0 && <p className="muted">No models yet: download one above.</p>}
    </section>
  );
}

/** A reference to download (hf:, a URL) or to pull with Ollama (ollama:). */
function PullForm({
  value,
  onChange,
  onPull,
}: {
  value: string;
  onChange: (ref: string) => void;
  onPull: (ref: string) => void;
}) {
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) onPull(value);
      }}
    >
      <label className="grow">
        <span className="label">Download or pull a model</span>
        <input
          value={value}
          onChange={(e) => onChange(e.target.value)}
          placeholder="hf:user/repo:Q4_K_M, https://…/model.gguf or ollama:qwen2.5"
          aria-describedby="pull-help"
        />
      </label>
      <button type="submit" className="button button-primary" disabled={!value.trim()}>
        Download
      </button>
    </form>
  );
}

/** Downloads under way or failed, each with its progress bar and, while it runs or waits, a cancel button. */
function DownloadsCard({ jobs, onCancel }: { jobs: PullJob[]; onCancel: (jobId: string) => void }) {
  return (
    <div className="card" aria-label="Downloads">
      <h2>Downloads</h2>
      {jobs.map((job) => (
        <div key={job.jobId} className="job">
          <div className="job-name">{job.ref}</div>
          <ProgressBar job={job} label={`Download of ${job.ref}`} />
          {(job.state === 'running' || job.state === 'queued') && (
            <button
              type="button"
              className="button"
              onClick={() => onCancel(job.jobId)}
              aria-label={`Cancel download of ${job.ref}`}
            >
              Cancel
            </button>
          )}
        </div>
      ))}
    </div>
  );
}

/** One source's models, each with where it is, its size and the control that gives it to a bot. */
function ModelGroup({
  title,
  models,
  bots,
  onAssign,
}: {
  title: string;
  models: ModelInfo[];
  bots: BotInfo[];
  onAssign: (botId: string, model: ModelInfo) => void;
}) {
  return (
    <div className="card">
      <h2>{title}</h2>
      <ul className="model-list">
        {models.map((m) => (
          <li key={m.ref} className="model-row" data-model-ref={m.ref}>
            <div className="grow">
              <div className="model-name">
                {m.name} {m.loaded && <span className="badge">loaded</span>}{' '}
                {!m.local && <span className="badge badge-cloud">cloud</span>}
              </div>
              <div className="muted small">
                {m.location}
                {m.sizeBytes ? ` · ${formatBytes(m.sizeBytes)}` : ''}
              </div>
            </div>
            <AssignControl model={m} bots={bots} onAssign={onAssign} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function AssignControl({
  model,
  bots,
  onAssign,
}: {
  model: ModelInfo;
  bots: BotInfo[];
  onAssign: (botId: string, model: ModelInfo) => void;
}) {
  const eligible = bots.filter((b) => model.local || !b.config.localOnly);
  const [botId, setBotId] = useState(eligible[0]?.config.id ?? '');
  if (eligible.length === 0) return null;
  return (
    <div className="row">
      <select value={botId} onChange={(e) => setBotId(e.target.value)} aria-label={`Bot for ${model.name}`}>
        {eligible.map((b) => (
          <option key={b.config.id} value={b.config.id}>
            {b.config.displayName}
            {b.config.model === model.ref ? ' (current)' : ''}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="button"
        onClick={() => onAssign(botId, model)}
        aria-label={`Use ${model.name} for the selected bot`}
      >
        Use
      </button>
    </div>
  );
}
