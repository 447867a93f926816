// `agent-room route "<text>" --json` as a person runs it (the built CLI on a temp data folder): one JSON object
// on stdout with the task, the sensitive kinds, the model, its endpoint, local or not and why, without running
// inference; a refusal is a decision too (exit 0, model null); an unknown bot is an error that says the bots.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteReport } from '../../main/cli/route-command.ts';
import { cliPath, nodeBin, repoRoot } from '../support/cli.ts';

let dataDir: string;
const LOCAL = '/models/code-7b.gguf';

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'cli-route-'));
  writeFileSync(
    join(dataDir, 'settings.json'),
    JSON.stringify({
      bots: [
        { id: 'helper', displayName: 'Helper', model: 'openai:cloud/gpt-4o-mini', fallback: [`llama:${LOCAL}`] },
        { id: 'cloudy', displayName: 'Cloudy', model: 'openai:cloud/gpt-4o-mini' },
      ],
      endpoints: { openai: [{ id: 'cloud', url: 'https://api.cloud.example/v1' }] },
      tasks: [
        { name: 'code_review', models: [`llama:${LOCAL}`, 'openai:cloud/gpt-4o'], reason: 'Specialized for code' },
      ],
      routing: { rules: [{ code: true, task: 'code_review' }] },
    }),
  );
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function route(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(nodeBin, [cliPath, '--data-dir', dataDir, 'route', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, HOME: dataDir },
  });
}

describe('agent-room route', () => {
  it('prints the decision as one JSON object', () => {
    const plain = route('what is the capital of France?', '--json');
    expect(plain.status).toBe(0);
    const r = JSON.parse(plain.stdout) as RouteReport;
    expect(r).toMatchObject({
      bot: 'helper',
      task: null,
      sensitive: false,
      model: 'openai:cloud/gpt-4o-mini',
      endpoint: 'cloud',
      local: false,
      reason: "the bot's own model",
    });

    const code = JSON.parse(route('review this\n```ts\nlet x = 1\n```', '--json').stdout) as RouteReport;
    expect(code).toMatchObject({ task: 'code_review', model: `llama:${LOCAL}`, endpoint: 'local', local: true });
    expect(code.reason).toBe('task code_review (rule #1 (a code block)): Specialized for code; its first model');
  });

  it('keeps a card number local, and says so without the number', () => {
    const run = route('charge 4111 1111 1111 1111 please', '--json');
    const r = JSON.parse(run.stdout) as RouteReport;
    expect(r).toMatchObject({
      sensitive: { kinds: ['card'], description: 'a card number' },
      model: `llama:${LOCAL}`,
      local: true,
    });
    expect(r.skipped[0]?.reason).toContain('refused: the request holds sensitive data (card)');
    expect(run.stdout + run.stderr).not.toContain('4111');
  });

  it('reports a refusal as a decision: exit 0, model null, the reason', () => {
    const run = route('my key is sk-proj-' + 'Ab3d'.repeat(12), '--bot', 'cloudy', '--json');
    expect(run.status).toBe(0);
    const r = JSON.parse(run.stdout) as RouteReport;
    expect(r).toMatchObject({ bot: 'cloudy', model: null, endpoint: null, local: null });
    expect(r.reason).toMatch(/did not send this request: it holds an API key/);
  });

  it('prints text for people, and names the bots when one is unknown', () => {
    const text = route('hello');
    expect(text.stdout).toMatch(/^→ openai:cloud\/gpt-4o-mini \(leaves this machine: cloud\)/);
    const unknown = route('hello', '--bot', 'nobody');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('No bot is called "nobody". Bots: helper, cloudy.');
  });
});
