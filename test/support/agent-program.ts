// A stand-in for an agent program, for the external-agent tests. Run as `node test/support/agent-program.ts <mode>`
// (Node 22 strips the types); the prompt comes on stdin.
//   echo      writes "agent got: <prompt>" and exits 0
//   slow      writes "step 1" … "step 200", one every 50 ms, after starting a grandchild (`sleep 300`) in its group
//   fail      writes a line, then "fatal: simulated failure" on stderr, and exits 2
//   forever   writes one line and never ends
//   flood     writes 1 MB at once
//   env       writes its environment as JSON
//   replay F  writes the lines of the file F (a recorded CLI stream), 10 ms apart
// The pids it starts are written to $AGENT_TEST_PID_FILE (one a line).
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';

const [mode = 'echo', file] = process.argv.slice(2);
const pidFile = process.env.AGENT_TEST_PID_FILE;
const note = (pid: number | undefined) => pidFile && pid && appendFileSync(pidFile, `${pid}\n`);
note(process.pid);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

const prompt = await stdin();
switch (mode) {
  case 'echo':
    process.stdout.write(`agent got: ${prompt.trim().split('\n').at(-1)}`);
    break;
  case 'slow': {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    note(child.pid);
    for (let i = 1; i <= 200; i++) {
      process.stdout.write(`step ${i}\n`);
      await sleep(50);
    }
    break;
  }
  case 'fail':
    process.stdout.write('starting\n');
    process.stderr.write('fatal: simulated failure\n');
    process.exit(2);
    break;
  case 'forever':
    process.stdout.write('thinking…\n');
    // A pending timer keeps it alive (an unsettled await alone would let Node exit).
    setInterval(() => undefined, 1000);
    break;
  case 'flood':
    process.stdout.write('x'.repeat(1024 * 1024));
    break;
  case 'env':
    process.stdout.write(JSON.stringify(process.env));
    break;
  case 'replay':
    for (const line of readFileSync(file as string, 'utf8').split('\n')) {
      if (line.trim()) process.stdout.write(`${line}\n`);
      await sleep(10);
    }
    break;
}
