// The control API in React: the api object in a context, and live status, settings, bots and jobs.
import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { AgentRoomApi } from '../../../main/common/contract-api.ts';
import type { AppStatus, BotInfo, PullJob } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';

export const ApiContext = createContext<AgentRoomApi | null>(null);

export function useApi(): AgentRoomApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiContext: wrap the app in <ApiContext.Provider>.');
  return api;
}

export function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    const hint = 'hint' in err && typeof err.hint === 'string' ? ` ${err.hint}` : '';
    return `${String(err.message)}${hint}`;
  }
  return String(err);
}

export function useStatus(): AppStatus | undefined {
  const api = useApi();
  const [status, setStatus] = useState<AppStatus>();
  useEffect(() => {
    let live = true;
    const refetch = () =>
      api.status.get().then(
        (s) => live && setStatus(s),
        () => undefined,
      );
    void refetch();
    const off = api.onStatusChanged((s) => setStatus(s));
    // Some status follows settings without a service changing state (the first-run wait ends when a
    // downloaded model is given to the bot): refetch on every settings change.
    const offSettings = api.onSettingsChanged(() => void refetch());
    return () => {
      live = false;
      off();
      offSettings();
    };
  }, [api]);
  return status;
}

export function useSettings(): [Settings | undefined, (s: Settings) => void] {
  const api = useApi();
  const [settings, setSettings] = useState<Settings>();
  useEffect(() => {
    let live = true;
    api.settings.get().then(
      (s) => live && setSettings(s),
      () => undefined,
    );
    const off = api.onSettingsChanged((s) => setSettings(s));
    return () => {
      live = false;
      off();
    };
  }, [api]);
  return [settings, setSettings];
}

/** The bots with their state; refetched when settings or status change (a model switch, a new bot). */
export function useBots(): [BotInfo[], () => void] {
  const api = useApi();
  const [bots, setBots] = useState<BotInfo[]>([]);
  const refresh = useCallback(() => {
    api.bots.list().then(setBots, () => undefined);
  }, [api]);
  useEffect(() => {
    refresh();
    const offA = api.onSettingsChanged(refresh);
    const offB = api.onStatusChanged(refresh);
    return () => {
      offA();
      offB();
    };
  }, [api, refresh]);
  return [bots, refresh];
}

/** Download and pull jobs by id, updated by models.progress events. */
export function useJobs(): Map<string, PullJob> {
  const api = useApi();
  const [jobs, setJobs] = useState<Map<string, PullJob>>(new Map());
  useEffect(() => {
    let live = true;
    api.models.jobs().then(
      (list) => {
        if (!live) return;
        setJobs((prev) => {
          const next = new Map(prev);
          for (const j of list) if (!next.has(j.jobId)) next.set(j.jobId, j);
          return next;
        });
      },
      () => undefined,
    );
    const off = api.onModelsProgress((job) => setJobs((prev) => new Map(prev).set(job.jobId, job)));
    return () => {
      live = false;
      off();
    };
  }, [api]);
  return jobs;
}
