// `agent-room status [--json]` and `agent-room login-info [--show-password]`: what runs, and what a
// person needs to sign in from Element or a phone. Both read the data folder and ask a running serve.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointSpend, TaskFigures } from '../common/inference-types.ts';
import { costText } from '../core/inference/budget.ts';
import type { DataPaths } from '../core/paths.ts';
import { OWNER_RECOVERY_SECRET } from '../core/provisioning/encryption.ts';
import { OWNER_SECRETS } from '../core/provisioning/accounts.ts';
import { readProvisionState } from '../core/provisioning/state.ts';
import { FileSecretStore } from '../core/settings/secret-store.ts';

export interface ServeRecord {
  pid: number;
  controlUrl: string;
  startedAt: string;
}

export function serveRecordFile(paths: DataPaths): string {
  return join(paths.state, 'serve.json');
}

async function readServeRecord(paths: DataPaths): Promise<ServeRecord | undefined> {
  try {
    return JSON.parse(await readFile(serveRecordFile(paths), 'utf8')) as ServeRecord;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface HealthReply {
  status: string;
  services: Array<{ name: string; state: { status: string; error?: string; detail?: string } }>;
  tasks?: TaskFigures[];
  spend?: EndpointSpend[];
  sequencesInUse?: number;
  api?: { running: number; queued: number; refused: number };
  peers?: Array<{ id: string; healthy: boolean; checkedAt: number; error?: string }>;
}

/** The selector's figures and the spend, as lines. */
export function figureLines(h: Pick<HealthReply, 'tasks' | 'spend'>): string[] {
  const lines: string[] = [];
  for (const t of h.tasks ?? []) {
    const where = Object.entries(t.models)
      .map(([m, n]) => `${m} ×${n}`)
      .join(', ');
    const p50 = t.p50Ms === null ? '' : `, p50 ${Math.round(t.p50Ms)} ms`;
    lines.push(
      `Task:       ${t.task}: ${t.requests} request(s), ${t.local} here, ${t.cloud} cloud, ${t.unanswered} unanswered${p50}${where ? ` (${where})` : ''}`,
    );
  }
  for (const s of h.spend ?? []) lines.push(`Spend:      ${costText([s]).replace(/^- /, '')}`);
  return lines;
}

export async function runStatus(
  paths: DataPaths,
  options: { json?: boolean },
  out: (s: string) => void = console.log,
): Promise<number> {
  const record = await readServeRecord(paths);
  let health: HealthReply | undefined;
  if (record && alive(record.pid)) {
    try {
      health = (await (
        await fetch(`${record.controlUrl}/health`, { signal: AbortSignal.timeout(3000) })
      ).json()) as typeof health;
    } catch {
      health = undefined;
    }
  }
  const prov = await readProvisionState(paths.state);
  const result = {
    running: Boolean(health),
    controlUrl: health ? record?.controlUrl : undefined,
    health,
    homeserver: prov ? { url: prov.homeserverUrl, serverName: prov.serverName } : undefined,
    roomId: prov?.roomId,
    owner: prov?.owner?.userId,
    bots: prov?.bots.map((b) => ({ id: b.id, userId: b.userId, displayName: b.displayName })) ?? [],
  };
  if (options.json) {
    out(JSON.stringify(result, null, 2));
    return 0;
  }
  out(
    health
      ? `Agent Room is running (${health.status}) at ${record?.controlUrl}`
      : 'Agent Room is not running (start it with `agent-room serve`).',
  );
  for (const s of health?.services ?? [])
    out(
      `  ${s.name.padEnd(13)} ${s.state.status}${s.state.detail ? ` — ${s.state.detail}` : ''}${s.state.error ? ` — ${s.state.error}` : ''}`,
    );
  if (health?.api)
    out(
      `API:        ${record?.controlUrl}/v1 — ${health.api.running} running, ${health.api.queued} waiting, ${health.api.refused} refused (429); model sequences in use: ${health.sequencesInUse ?? 0}`,
    );
  for (const p of health?.peers ?? [])
    out(
      `Peer:       ${p.id} ${p.healthy ? 'answers' : `DOWN: ${p.error ?? ''}`} (checked ${new Date(p.checkedAt).toISOString()})`,
    );
  if (prov) {
    out(`Homeserver: ${prov.homeserverUrl} (server name ${prov.serverName})`);
    out(`Team room:  ${prov.roomId ?? '(not created yet)'}`);
    out(`Owner:      ${prov.owner?.userId ?? '(not created yet)'}`);
    for (const b of prov.bots) out(`Bot:        ${b.displayName} ${b.userId}`);
    for (const line of health ? figureLines(health) : []) out(line);
  } else {
    out('Not provisioned yet: the first `agent-room serve` creates the accounts and the room.');
  }
  return 0;
}

export async function runLoginInfo(
  paths: DataPaths,
  options: { showPassword?: boolean; json?: boolean },
  out: (s: string) => void = console.log,
): Promise<number> {
  const prov = await readProvisionState(paths.state);
  if (!prov?.owner) {
    const error = 'No account yet: run `agent-room serve` once; it creates your account and the team room.';
    out(options.json ? JSON.stringify({ error }, null, 2) : error);
    return 1;
  }
  const secrets = new FileSecretStore({ file: paths.secrets });
  const recoveryKey = await secrets.get(OWNER_RECOVERY_SECRET);
  if (options.json) {
    const password = options.showPassword ? await secrets.get(OWNER_SECRETS.password) : undefined;
    const info = {
      homeserverUrl: prov.homeserverUrl,
      userId: prov.owner.userId,
      ...(prov.roomId ? { roomId: prov.roomId } : {}),
      recoveryKeyStored: recoveryKey !== undefined,
      // Secrets only when asked for, as in the text output.
      ...(password !== undefined ? { password } : {}),
      ...(options.showPassword && recoveryKey !== undefined ? { recoveryKey } : {}),
    };
    out(JSON.stringify(info, null, 2));
    return 0;
  }
  out(`Homeserver URL: ${prov.homeserverUrl}`);
  out(`User ID:        ${prov.owner.userId}`);
  if (options.showPassword) {
    const password = await secrets.get(OWNER_SECRETS.password);
    out(`Password:       ${password ?? '(not stored: it was set outside Agent Room)'}`);
    if (recoveryKey !== undefined) out(`Recovery key:   ${recoveryKey}`);
  } else {
    out(
      `Password:       hidden (add --show-password to print it${recoveryKey !== undefined ? ' and the recovery key' : ''})`,
    );
  }
  if (prov.roomId) out(`Team room:      ${prov.roomId}`);
  out('In Element: "Sign in" → "Edit" the homeserver → paste the URL → sign in with the user ID and password.');
  if (recoveryKey !== undefined)
    out(
      'The team room is encrypted: when Element asks to verify this session, choose the recovery key; it then shows your bots as verified.',
    );
  return 0;
}
