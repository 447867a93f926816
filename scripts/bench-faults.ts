// `npm run bench:faults -- --cycles N`: N rounds of faults against a real serve (the stand-in homeserver
// child, the generated tiny model), each round: the homeserver SIGKILLed mid-reply, serve SIGKILLed
// mid-reply with mentions sent while it is down, and a quit (SIGTERM) mid-reply. Prints the figures; the
// last line is `lost=… duplicated=… orphans=… restart_p50_ms=…`. Exit code 1 when anything was lost,
// duplicated or left running.
import { parseArgs } from 'node:util';
import { processesOf } from '../test/support/faults/procs.ts';
import { percentile, tally } from '../test/support/faults/replies.ts';
import {
  appKillCycle,
  closeStack,
  homeserverKillCycle,
  openStack,
  quitCycle,
  reopen,
  waitForAllFinal,
  type Stack,
} from '../test/support/faults/scenarios.ts';
import { botSettings, makeDataDir } from '../test/support/faults/stack.ts';
import { tinyModel } from '../test/support/models.ts';

const { values } = parseArgs({
  options: { cycles: { type: 'string', default: '5' }, 'max-tokens': { type: 'string', default: '1200' } },
});
const cycles = Math.max(1, Number(values.cycles));

const hsRestart: number[] = [];
const appRestart: number[] = [];
const quitMs: number[] = [];
let orphans = 0;
let brokenFiles = 0;
let staleNotCleared = 0;
let badExits = 0;

const fmt = (xs: number[]): string =>
  xs.length ? `p50 ${percentile(xs, 50)} ms, p95 ${percentile(xs, 95)} ms, max ${Math.max(...xs)} ms` : 'n/a';

const dir = makeDataDir(
  botSettings([{ id: 'tiny', model: `llama:${await tinyModel()}`, maxTokens: Number(values['max-tokens']) }]),
  'agent-room-bench-faults-',
);
console.log(`data folder ${dir}; ${cycles} cycles`);
let stack: Stack | undefined;
const started = Date.now();
try {
  stack = await openStack(dir);
  for (let i = 1; i <= cycles; i++) {
    const hs = await homeserverKillCycle(stack, i);
    hsRestart.push(hs);
    const app = await appKillCycle(stack, i);
    appRestart.push(app.restartMs);
    if (!app.staleCleared) staleNotCleared++;
    const q = await quitCycle(stack, i);
    quitMs.push(q.quitMs);
    orphans += q.orphans.length;
    brokenFiles += q.brokenFiles.length;
    if (q.exitCode !== 0) badExits++;
    await reopen(stack);
    console.log(
      `cycle ${i}: homeserver back in ${hs} ms; serve restarted in ${app.restartMs} ms (stale homeserver ${app.staleSurvived ? (app.staleCleared ? 'survived, cleared' : 'survived, NOT cleared') : 'did not survive'}); quit in ${q.quitMs} ms, exit ${q.exitCode}, ${q.orphans.length} orphans`,
    );
  }
  const t = tally(await waitForAllFinal(stack, 60_000));
  await closeStack(stack);
  // After the final stop nothing of this data folder may remain either.
  orphans += processesOf(dir).length;
  console.log('');
  console.log(
    `mentions ${t.mentions}: lost ${t.lost}, duplicated ${t.duplicated}, half-finished replies ${t.halfFinished}, error endings ${t.errorEndings}`,
  );
  console.log(`homeserver SIGKILL → answering again: ${fmt(hsRestart)}`);
  console.log(
    `serve SIGKILL → restarted and ready: ${fmt(appRestart)}; stale homeserver not cleared ${staleNotCleared}`,
  );
  console.log(
    `quit (SIGTERM) mid-reply → exited: ${fmt(quitMs)}; bad exits ${badExits}; broken JSON files ${brokenFiles}`,
  );
  console.log(`total ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(
    `lost=${t.lost} duplicated=${t.duplicated} orphans=${orphans} restart_p50_ms=${percentile(hsRestart, 50)}`,
  );
  process.exitCode = t.lost + t.duplicated + orphans + staleNotCleared + brokenFiles + badExits > 0 ? 1 : 0;
} catch (err) {
  console.error(`bench:faults failed: ${(err as Error).stack ?? String(err)}`);
  if (stack) await closeStack(stack);
  process.exitCode = 1;
}
