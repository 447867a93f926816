// An encrypted team with its bots running (no inference: no mention is sent), for the tests of the owner's trust:
// the owner vouching for the bots, and the owner's own devices signed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { BotInference } from '../../main/core/bots/types.ts';
import { SasRendezvous } from '../../main/core/crypto/verification.ts';
import type { VouchOptions } from '../../main/core/provisioning/owner-trust.ts';
import { provision, type ProvisionResult } from '../../main/core/provisioning/provisioner.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { startMatrixTarget, type MatrixTarget } from './matrix-target.ts';

export interface VouchTeam {
  hs: MatrixTarget;
  dir: string;
  settings: Settings;
  result: ProvisionResult;
  runner: BotRunner;
  secrets: MemorySecretStore;
  rendezvous: SasRendezvous;
  /** What vouchForBots needs for this team. */
  vouchOptions(): VouchOptions;
  close(): Promise<void>;
}

const noInference: BotInference = {
  chat: () => {
    throw new Error('not used');
  },
  countTokens: () => Promise.resolve(1),
};

export async function startVouchTeam(o: {
  serverName: string;
  registrationToken: string;
  bots: string[];
}): Promise<VouchTeam> {
  const dir = await mkdtemp(join(tmpdir(), `${o.serverName}-`));
  const hs = await startMatrixTarget({ serverName: o.serverName, registrationToken: o.registrationToken });
  const x = hs.suffix;
  const secrets = new MemorySecretStore();
  const rendezvous = new SasRendezvous();
  const settings = settingsSchema.parse({
    owner: { localpart: `owner${x}` },
    bots: o.bots.map((name) => ({
      id: `${name}${x}`,
      displayName: name[0]!.toUpperCase() + name.slice(1),
      model: 'ollama:tiny',
    })),
  });
  const stateDir = join(dir, 'state');
  const result = await provision({
    homeserverUrl: hs.url,
    registrationToken: hs.registrationToken,
    stateDir,
    secrets,
    settings,
    encrypt: true,
  });
  const runner = new BotRunner({
    provision: result,
    getSettings: () => settings,
    inference: noInference,
    stateDir,
    encryption: { secrets, flushDelayMs: 20, rendezvous },
  });
  await runner.start(new AbortController().signal);
  await Promise.all(runner.workers.map((w) => w.conn.encryption!.startTrust()));
  return {
    hs,
    dir,
    settings,
    result,
    runner,
    secrets,
    rendezvous,
    vouchOptions: () => ({
      ctx: { baseUrl: hs.url, secrets },
      ownerLocalpart: settings.owner.localpart,
      stateDir,
      owner: result.owner,
      roomId: result.roomId,
      bots: result.bots.map((b) => ({ userId: b.userId, deviceId: b.deviceId })),
      rendezvous,
      verifyTimeoutMs: 20_000,
    }),
    async close() {
      await runner.stop(5000);
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
