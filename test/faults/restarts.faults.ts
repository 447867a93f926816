// Faults while a reply streams, against a real serve: the homeserver child SIGKILLed, serve itself
// SIGKILLed (mentions sent meanwhile through the surviving homeserver) and quit with SIGTERM. Every mention
// must be answered exactly once with a finished reply, and no process may outlive a quit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesOf } from '../support/faults/procs.ts';
import { tally } from '../support/faults/replies.ts';
import {
  appKillCycle,
  closeStack,
  homeserverKillCycle,
  openStack,
  quitCycle,
  reopen,
  waitForAllFinal,
  type Stack,
} from '../support/faults/scenarios.ts';
import { botSettings, makeDataDir } from '../support/faults/stack.ts';
import { tinyModel } from '../support/models.ts';

let stack: Stack;

beforeAll(async () => {
  // 1200 tokens stream for about 1.5 s on the tiny model: long enough to hit mid-reply.
  const dir = makeDataDir(botSettings([{ id: 'tiny', model: `llama:${await tinyModel()}`, maxTokens: 1200 }]));
  stack = await openStack(dir);
});

afterAll(async () => {
  if (stack) await closeStack(stack);
});

describe('faults while a reply streams', () => {
  it('homeserver SIGKILLed twice mid-reply: back within seconds, each mention finished exactly once', async () => {
    for (let i = 0; i < 2; i++) {
      const ms = await homeserverKillCycle(stack, i);
      expect(ms).toBeLessThan(10_000);
    }
    const t = tally(await waitForAllFinal(stack));
    expect(t).toMatchObject({ mentions: 2, lost: 0, duplicated: 0, halfFinished: 0 });
  });

  it('serve SIGKILLed mid-reply: the stale homeserver is cleared at restart and mentions sent while down are answered once', async () => {
    const r = await appKillCycle(stack, 1);
    expect(r.staleSurvived).toBe(true);
    expect(r.staleCleared).toBe(true);
    expect(processesOf(stack.serve.dataDir).filter((p) => p.homeserver)).toHaveLength(1);
    const t = tally(await waitForAllFinal(stack));
    expect(t).toMatchObject({ mentions: 5, lost: 0, duplicated: 0, halfFinished: 0 });
  });

  it('quit (SIGTERM) mid-reply: exit 0, no child left, data files parse, the reply is finished after the next start', async () => {
    const q = await quitCycle(stack, 1);
    expect(q.exitCode).toBe(0);
    expect(q.orphans).toEqual([]);
    expect(q.brokenFiles).toEqual([]);
    await reopen(stack);
    const t = tally(await waitForAllFinal(stack));
    expect(t).toMatchObject({ mentions: 6, lost: 0, duplicated: 0, halfFinished: 0 });
  });
});
