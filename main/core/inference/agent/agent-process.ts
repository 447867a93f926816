// One run of an agent program: started in its own process group (so the whole tree can be ended), the prompt on
// its stdin, its stdout read as it comes, under a time limit and an output cap, with only the environment settings
// give it. Stopping the answer, the time limit or the cap end the group; so does the end of the run, for whatever
// the program left running behind it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { descendants, signalAll, signalGroup, waitGone } from '../../lifecycle/process-tree.ts';
import { InferenceError } from '../types.ts';

/** What a program gets of the app's environment without asking: where programs are, whose home, the terminal. */
export const BASE_ENV_KEYS =
  process.platform === 'win32'
    ? [
        'PATH',
        'PATHEXT',
        'SYSTEMROOT',
        'SYSTEMDRIVE',
        'TEMP',
        'TMP',
        'USERPROFILE',
        'APPDATA',
        'LOCALAPPDATA',
        'HOMEDRIVE',
        'HOMEPATH',
        'USERNAME',
        'COMSPEC',
      ]
    : ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];

export function baseEnv(source: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of BASE_ENV_KEYS) {
    const v = source[k];
    if (v !== undefined && !v.startsWith('()')) env[k] = v;
  }
  return env;
}

export interface AgentRun {
  /** The agent's id, for messages. */
  id: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal | undefined;
  /** Told of each pid the run starts, and of the run's end (tests, the status page). */
  onPid?: (pid: number) => void;
}

/** Ends the process group (and any member that left it) gracefully, then by force. */
async function endTree(pid: number): Promise<void> {
  const tree = [pid, ...descendants(pid)];
  signalGroup(pid, 'SIGTERM');
  signalAll(tree, 'SIGTERM');
  const left = await waitGone(tree, 2000);
  signalGroup(pid, 'SIGKILL');
  signalAll(left, 'SIGKILL');
}

/** Starts the program; a command that cannot run is a BackendUnavailable naming it. */
async function start(run: AgentRun): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(run.command, run.args, {
    cwd: run.cwd,
    env: run.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: the whole tree ends with one signal (not on Windows, where there are no groups).
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return child;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InferenceError(
      'BackendUnavailable',
      `The agent "${run.id}" could not start: ${code === 'ENOENT' ? `the command "${run.command}" was not found` : String((err as Error).message)}.`,
      {
        cause: err,
        hint: `Install it, or fix agents (id "${run.id}") → command in settings: a full path or a program on PATH.`,
      },
    );
  }
}

const timeLimit = (run: AgentRun): InferenceError =>
  new InferenceError(
    'Timeout',
    `The agent "${run.id}" ran past its time limit (${run.timeoutMs} ms) and was stopped.`,
    {
      hint: `Raise agents (id "${run.id}") → timeoutMs in settings, or ask for less.`,
    },
  );

const outputCap = (run: AgentRun): InferenceError =>
  new InferenceError(
    'BadResponse',
    `The agent "${run.id}" wrote more than ${run.maxOutputBytes} bytes and was stopped.`,
    {
      hint: `Raise agents (id "${run.id}") → maxOutputBytes in settings, or ask for less.`,
    },
  );

function exitError(run: AgentRun, code: number | null, stderr: string): InferenceError {
  const last = stderr.trim().split('\n').at(-1) ?? '';
  return new InferenceError(
    'BackendUnavailable',
    `The agent "${run.id}" ${code === null ? 'was killed' : `exited with code ${code}`}${last ? `: ${last}` : ''}.`,
    { hint: `Run the command by hand in ${run.cwd} to see why, or check agents (id "${run.id}") in settings.` },
  );
}

/** The program's stdout, piece by piece, as it writes it. Throws InferenceError for every way the run can fail. */
export async function* runAgentProcess(run: AgentRun): AsyncGenerator<string> {
  const child = await start(run);
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const pid = child.pid as number;
  run.onPid?.(pid);
  let stopped: InferenceError | undefined;
  const stop = (e: InferenceError): void => {
    stopped ??= e;
    void endTree(pid);
  };
  const timer = setTimeout(() => stop(timeLimit(run)), run.timeoutMs);
  const onAbort = () => stop(new InferenceError('Aborted', `The agent "${run.id}" was stopped.`));
  if (run.signal?.aborted) onAbort();
  run.signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  // A program that does not read its stdin closes it: that is its choice, not a failure.
  child.stdin.on('error', () => undefined);
  child.stdin.end(run.stdin);
  let bytes = 0;
  // Decoded as a stream, so a character split between two reads stays whole.
  child.stdout.setEncoding('utf8');
  try {
    for await (const chunk of child.stdout as AsyncIterable<string>) {
      if (stopped) continue;
      bytes += Buffer.byteLength(chunk);
      if (bytes > run.maxOutputBytes) stop(outputCap(run));
      else yield chunk;
    }
    const code = await closed;
    if (stopped) throw stopped;
    if (code !== 0) throw exitError(run, code, stderr);
  } finally {
    clearTimeout(timer);
    run.signal?.removeEventListener('abort', onAbort);
    // Whatever it left running (a server it started, a stuck helper) ends with it.
    await endTree(pid);
  }
}
