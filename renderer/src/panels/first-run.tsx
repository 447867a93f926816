// First run: what the probe found, the recommended model with a one-click download (or an Ollama model
// when Ollama is there); the first bot is created once its model is ready, and the team room opens.
import { useEffect, useState } from 'react';
import type { ProbeResult, PullJob } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { ProgressBar } from '../components/progress-bar.tsx';
import { errorText, useApi } from '../hooks/control.ts';
import { botFromModel, formatBytes, shortModelName } from '../lib/format.ts';

export function FirstRun({ jobs, onDone }: { jobs: Map<string, PullJob>; onDone: (settings: Settings) => void }) {
  const api = useApi();
  const [probe, setProbe] = useState<ProbeResult>();
  const [error, setError] = useState<string>();
  const [pending, setPending] = useState<{ jobId: string; ref: string }>();
  const [custom, setCustom] = useState('');

  useEffect(() => {
    api.probe.get().then(setProbe, (err: unknown) => setError(errorText(err)));
  }, [api]);

  const createBot = async (model: string) => {
    try {
      const { id, displayName } = botFromModel(model);
      onDone(await api.settings.update({ bots: [{ id, displayName, model }] }));
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
    if (pending && job?.state === 'done') void createBot(pending.ref);
  }, [job?.state]);

  if (!probe) {
    return (
      <section className="first-run" aria-label="Welcome">
        <h1>Welcome to Agent Room</h1>
        <p>{error ?? 'Looking at this computer…'}</p>
      </section>
    );
  }
  const { report, plan } = probe;
  const recommended = plan.recommendedModels[0];
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
        <dt>Inference</dt><dd data-testid="plan-backend">{plan.backend}, {plan.threads} threads</dd>
        {report.ollama && <><dt>Ollama</dt><dd>found at {report.ollama.url}{report.ollama.version ? ` (${report.ollama.version})` : ''}</dd></>}
      </dl>
      {plan.reasons.length > 0 && (
        <ul className="reasons muted">{plan.reasons.map((r) => <li key={r}>{r}</li>)}</ul>
      )}
      <div className="card recommend">
        <h2>Recommended model</h2>
        {recommended ? (
          <>
            <p><strong>{shortModelName(recommended)}</strong> <span className="muted small">{recommended}</span></p>
            {job ? (
              <ProgressBar job={job} label={`Download of ${shortModelName(recommended)}`} />
            ) : (
              <button type="button" className="button button-primary button-large" onClick={() => void download(recommended)} disabled={Boolean(pending)}>
                Download and start
              </button>
            )}
            {job?.state === 'failed' && <button type="button" className="button" onClick={() => void download(recommended)}>Try again</button>}
          </>
        ) : (
          <p>No recommendation for this computer; enter a model below.</p>
        )}
      </div>
      {ollamaModels.length > 0 && (
        <div className="card">
          <h2>Or use a model Ollama already has</h2>
          <div className="row wrap">
            {ollamaModels.map((m) => (
              <button key={m} type="button" className="button" onClick={() => void createBot(`ollama:${m}`)} aria-label={`Use Ollama model ${m}`}>{m}</button>
            ))}
          </div>
        </div>
      )}
      <form className="row" onSubmit={(e) => { e.preventDefault(); if (custom.trim()) void download(custom.trim()); }}>
        <label className="grow"><span className="label">Another model (hf:, URL or ollama:)</span><input value={custom} onChange={(e) => setCustom(e.target.value)} /></label>
        <button type="submit" className="button" disabled={!custom.trim() || Boolean(pending)}>Download</button>
      </form>
      {error && <p className="error-text" role="alert">{error}</p>}
    </section>
  );
}
