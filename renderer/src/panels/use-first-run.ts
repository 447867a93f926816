// First run's state: what the probe found, the download under way (the one the core started for the recommended
// model, or one the person started), and giving the downloaded (or an Ollama) model to the bots that wait for one;
// `onDone` gets the settings once they have it.
import { useEffect, useState } from 'react';
import type { AppStatus, ProbeResult, PullJob } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { errorText, useApi } from '../hooks/control.ts';
import { coreDownload, teamWithModel } from '../lib/first-run.ts';
import { botFromModel } from '../lib/format.ts';

export interface PendingDownload {
  jobId: string;
  ref: string;
}

export interface FirstRunSetup {
  probe: ProbeResult | undefined;
  error: string | undefined;
  pending: PendingDownload | undefined;
  /** The pending download's job, as models.progress reports it. */
  job: PullJob | undefined;
  /** A download is under way: no other choice until it ends. */
  busy: boolean;
  download: (ref: string) => Promise<void>;
  adoptModel: (model: string) => Promise<void>;
  cancel: (jobId: string) => void;
  /** Leaves a failed or cancelled download for another choice. */
  chooseAnother: () => void;
}

export function useFirstRunSetup(
  jobs: Map<string, PullJob>,
  waiting: AppStatus['firstRun'] | undefined,
  onDone: (settings: Settings) => void,
): FirstRunSetup {
  const api = useApi();
  const [probe, setProbe] = useState<ProbeResult>();
  const [error, setError] = useState<string>();
  const [started, setStarted] = useState<PendingDownload>();
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());

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
      setStarted({ jobId, ref });
    } catch (err) {
      setError(errorText(err));
    }
  };

  // The person's own download first; else the one the core started for the model the team waits for.
  const auto = started ? undefined : coreDownload(jobs.values(), waiting?.modelsToDownload ?? [], dismissed);
  const pending: PendingDownload | undefined = started ?? (auto && { jobId: auto.jobId, ref: auto.ref });
  const job = pending ? jobs.get(pending.jobId) : undefined;
  useEffect(() => {
    if (pending && job?.state === 'done') void adoptModel(pending.ref);
  }, [job?.state]);
  const busy = Boolean(pending) && job?.state !== 'failed' && job?.state !== 'cancelled';

  return {
    probe,
    error,
    pending,
    job,
    busy,
    download,
    adoptModel,
    cancel: (jobId) => void api.models.cancel({ jobId }),
    chooseAnother: () => {
      if (pending) setDismissed((d) => new Set([...d, pending.jobId]));
      setStarted(undefined);
    },
  };
}
