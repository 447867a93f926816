// logs/homeserver.log is the homeserver's own text output, redacted as the app log is: a child that prints
// its config's registration token, an access token in a request line and a password gets none of them into
// the file, nor into the error a crash shows on the status page.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTRATION_TOKEN_SECRET } from '../../main/core/homeserver/supervisor.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { makeSupervisor, NODE, STAND_IN, tempData, waitForState } from '../support/supervisor-helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Prints what a chatty Conduit at debug level could print, then runs the stand-in (or, with CRASH set, exits).
const chatty = [
  'grep registration_token "$CONDUIT_CONFIG"',
  'echo "DEBUG conduit: GET /_matrix/client/v3/sync?access_token=syt_Ym90_abcdefghij_0123 200"',
  'printf \'%s\' \'{"type":"m.login.password","password":"correct horse battery"}\'; echo',
  'if [ -n "$CRASH" ]; then grep registration_token "$CONDUIT_CONFIG" >&2; exit 3; fi',
  'exec "$0" "$1"',
].join('\n');

describe('homeserver log', () => {
  it('holds no registration token, access token or password', async () => {
    const data = tempData('hs-redact-');
    const secrets = new MemorySecretStore();
    const sup = makeSupervisor(data, { secrets, command: { command: 'sh', args: ['-c', chatty, NODE, STAND_IN] } });
    cleanups.push(data.cleanup, () => sup.stop(5000));
    await sup.start(new AbortController().signal);
    await sup.stop(5000);
    const token = (await secrets.get(REGISTRATION_TOKEN_SECRET))!;
    const log = readFileSync(sup.logFile, 'utf8');
    expect(log).toContain('Listening on 127.0.0.1');
    expect(log).toContain('registration_token = "[redacted]"');
    expect(log).toContain('sync?access_token=[redacted] 200');
    expect(log).toContain('"password":"[redacted]"');
    for (const secret of [token, 'syt_Ym90_abcdefghij_0123', 'correct horse battery'])
      expect(log).not.toContain(secret);
  });

  it("a crash's output in the status error is redacted too", async () => {
    const data = tempData('hs-redact-crash-');
    const secrets = new MemorySecretStore();
    const sup = makeSupervisor(data, {
      secrets,
      command: { command: 'sh', args: ['-c', chatty, NODE, STAND_IN] },
      env: { ...process.env, CRASH: '1' },
      restartPolicy: { maxCrashes: 1, windowMs: 60_000, initialBackoffMs: 10, maxBackoffMs: 10 },
    });
    cleanups.push(data.cleanup, () => sup.stop(5000));
    await sup.start(new AbortController().signal).catch(() => undefined);
    const state = await waitForState(sup, 'failed', 20_000);
    const token = (await secrets.get(REGISTRATION_TOKEN_SECRET))!;
    // The error quotes the child's last output, the token line among it.
    expect(JSON.stringify(state)).toContain('registration_token = \\"[redacted]\\"');
    expect(JSON.stringify(state)).not.toContain(token);
    expect(readFileSync(sup.logFile, 'utf8')).not.toContain(token);
  });
});
