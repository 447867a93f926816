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

export function ModelsPanel({ bots, jobs, onBotsChanged }: { bots: BotInfo[]; jobs: Map<string, PullJob>; onBotsChanged: () => void }) {
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
  const activeJobs = [...jobs.values()].filter((j) => j.state === 'queued' || j.state === 'running' || j.state === 'failed');

  return (
    <section className="panel" aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (ref.trim()) void pull(ref);
        }}
      >
        <label className="grow">
          <span className="label">Download or pull a model</span>
          <input value={ref} onChange={(e) => setRef(e.target.value)} placeholder="hf:user/repo:Q4_K_M, https://…/model.gguf or ollama:qwen2.5" aria-describedby="pull-help" />
        </label>
        <button type="submit" className="button button-primary" disabled={!ref.trim()}>Download</button>
      </form>
      <p id="pull-help" className="muted">A Hugging Face reference or a GGUF URL downloads into the data folder; ollama:&lt;tag&gt; asks Ollama to pull it.</p>
      {error && <p className="error-text" role="alert">{error}</p>}
      {message && <p className="ok-text" role="status">{message}</p>}
      {activeJobs.length > 0 && (
        <div className="card" aria-label="Downloads">
          <h2>Downloads</h2>
          {activeJobs.map((job) => (
            <div key={job.jobId} className="job">
              <div className="job-name">{job.ref}</div>
              <ProgressBar job={job} label={`Download of ${job.ref}`} />
              {(job.state === 'running' || job.state === 'queued') && (
                <button type="button" className="button" onClick={() => void api.models.cancel({ jobId: job.jobId })} aria-label={`Cancel download of ${job.ref}`}>
                  Cancel
                </button>
              )}
            </div>
          ))}
        </div>
      )}
      {!models ? (
        <p>Looking for models…</p>
      ) : (
        GROUPS.map((g) => {
          const list = models.filter(g.match);
          if (list.length === 0) return null;
          return (
            <div key={g.title} className="card">
              <h2>{g.title}</h2>
              <ul className="model-list">
                {list.map((m) => (
                  <li key={m.ref} className="model-row" data-model-ref={m.ref}>
                    <div className="grow">
                      <div className="model-name">
                        {m.name} {m.loaded && <span className="badge">loaded</span>} {!m.local && <span className="badge badge-cloud">cloud</span>}
                      </div>
                      <div className="muted small">{m.location}{m.sizeBytes ? ` · ${formatBytes(m.sizeBytes)}` : ''}</div>
                    </div>
                    <AssignControl model={m} bots={bots} onAssign={assign} />
                  </li>
                ))}
              </ul>
            </div>
          );
        })
      )}
      {models?.length === 0 && <p className="muted">No models yet: download one above.</p>}
    </section>
  );
}

function AssignControl({ model, bots, onAssign }: { model: ModelInfo; bots: BotInfo[]; onAssign: (botId: string, model: ModelInfo) => void }) {
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
      <button type="button" className="button" onClick={() => onAssign(botId, model)} aria-label={`Use ${model.name} for the selected bot`}>
        Use
      </button>
    </div>
  );
}
