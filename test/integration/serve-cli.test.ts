// The CLI as a person runs it: serve answers /health, stops cleanly on SIGTERM, survives bad settings;
// probe prints the plan; import maps a matrix-agent-room config and an AIMatrix one.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, runCli, startCli, type RunningCli } from '../support/cli.ts';

const running: RunningCli[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.child.kill('SIGKILL');
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'agent-room-cli-'));
}

async function serve(dataDir: string): Promise<{ cli: RunningCli; url: string; token: string }> {
  const cli = startCli(['--data-dir', dataDir, 'serve', '--port', '0', '--no-bots'], { AGENT_ROOM_CONDUIT: '' });
  running.push(cli);
  const m = await cli.waitFor(/Chat window: (http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+)/);
  return { cli, url: m[1]!, token: m[2]! };
}

describe('agent-room serve', () => {
  it('answers /health on 127.0.0.1, says honestly that it started with problems, and exits 0 within 2 s of SIGTERM', async () => {
    const { cli, url } = await serve(tempDir());
    const health = (await (await fetch(`${url}/health`)).json()) as {
      status: string;
      services: Array<{ name: string; state: { status: string } }>;
    };
    expect(health.services.map((s) => s.name)).toEqual([
      'setup',
      'homeserver',
      'provisioning',
      'inference',
      'tools',
      'peers',
    ]);
    expect(['starting', 'ok', 'degraded']).toContain(health.status);
    // No Conduit binary here (AGENT_ROOM_CONDUIT is empty): the homeserver, and provisioning after it, fail.
    const [problems] = await cli.waitFor(
      /Agent Room started with problems:\n[\s\S]*?\nThe rest runs; the status page shows the same\./,
    );
    expect(problems).toMatch(/\n {2}homeserver: No usable Conduit homeserver executable[^\n]*\n {4}\S/);
    expect(problems).toMatch(/\n {2}provisioning: /);
    expect(problems).not.toMatch(/\n {2}(setup|inference|tools): /);
    expect(cli.output()).not.toContain('Agent Room is ready.');
    // Once inference runs, /health (and so `status --json`) carries the selector's figures and the spend.
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ tasks: [], spend: [] });
    const t0 = Date.now();
    cli.child.kill('SIGTERM');
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('starts with a settings file holding two wrong keys, names both, and keeps the bad file', async () => {
    const dir = tempDir();
    copyFileSync(join(repoRoot, 'test/fixtures/settings/two-wrong-keys.json'), join(dir, 'settings.json'));
    const { cli, url } = await serve(dir);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const out = cli.output();
    const bad = readdirSync(dir).filter((f) => f.startsWith('settings.json.bad-'));
    expect(bad).toHaveLength(1);
    expect(readFileSync(join(dir, bad[0]!), 'utf8')).toBe(
      readFileSync(join(repoRoot, 'test/fixtures/settings/two-wrong-keys.json'), 'utf8'),
    );
    const lines = out.split('\n').filter((l) => l.startsWith('Settings: '));
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/bots\.0\.temperature: .*2/);
    expect(lines.join('\n')).toMatch(/ui\.theme: /);
    // the valid keys survived
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))).toMatchObject({
      owner: { localpart: 'ada' },
      guard: { maxHops: 2 },
    });
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('guards the control API with the session token and the origin', async () => {
    const { url, token } = await serve(tempDir());
    const call = (headers: Record<string, string>) =>
      fetch(`${url}/api/app.info`, { method: 'POST', headers, body: '' });
    expect((await call({})).status).toBe(401);
    expect((await call({ Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await call({ Authorization: `Bearer ${token}`, Origin: 'http://evil.example' })).status).toBe(403);
    const ok = await call({ Authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { ok: boolean; value: { shell: string } };
    expect(body).toMatchObject({ ok: true, value: { shell: 'serve' } });
    const bad = await fetch(`${url}/api/bots.setModel`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: '{"botId":1}',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BadRequest');
  });
});

describe('agent-room --version', () => {
  it("prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const { code, output } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(output).toBe(`${version}\n`);
  });
});

describe('agent-room probe --json', () => {
  it('plans CPU inference here with a thread count within the cores and says why no GPU', async () => {
    const { code, output } = await runCli(['--data-dir', tempDir(), 'probe', '--json']);
    expect(code).toBe(0);
    const { plan } = JSON.parse(output.slice(output.indexOf('{'))) as {
      plan: { backend: string; threads: number; reasons: string[] };
    };
    expect(plan.backend).toBe('cpu');
    expect(plan.threads).toBeGreaterThanOrEqual(1);
    expect(plan.threads).toBeLessThanOrEqual(cpus().length);
    expect(plan.reasons.join('\n')).toMatch(/GPU/);
  });
});

describe('agent-room import', () => {
  it('maps a three-bot matrix-agent-room config and reports what it did not map', async () => {
    const dir = tempDir();
    const { code, output } = await runCli(
      ['--data-dir', dir, 'import', join(repoRoot, 'test/fixtures/import/three-bots.yaml'), '--json'],
      {
        ANTHROPIC_API_KEY: 'sk-test-anthropic',
        OPENAI_API_KEY: 'sk-test-openai',
      },
    );
    expect(code).toBe(0);
    const result = JSON.parse(output.slice(output.indexOf('{'))) as {
      report: { mapped: string[]; notMapped: string[] };
    };
    expect(result.report.notMapped.length).toBeGreaterThan(0);
    const settings = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as { bots: Array<{ id: string }> };
    expect(settings.bots).toHaveLength(3);
    const settingsText = readFileSync(join(dir, 'settings.json'), 'utf8');
    expect(settingsText).not.toContain('sk-test');
  });

  it('maps an AIMatrix master agent config to tasks, a pipeline and a cloud endpoint, and says what is still needed', async () => {
    const dir = tempDir();
    const { code, output } = await runCli([
      '--data-dir',
      dir,
      'import',
      join(repoRoot, 'test/fixtures/import/aimatrix.yaml'),
    ]);
    expect(code).toBe(0);
    expect(output).toMatch(/^Imported .*aimatrix\.yaml \(an AIMatrix master agent config\) into /m);
    expect(output).toContain('  ✓ routing[0] → task "code_review": ollama:codellama:34b');
    expect(output).toMatch(/ {2}✗ resources\.local_models\.swap_strategy lru: nothing to set/);
    expect(output).toMatch(/\nWarnings \(\d+\):\n {2}! Endpoint "cloud" serves .*Set its URL and key/);
    const settings = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as {
      tasks: Array<{ name: string; models: string[] }>;
      pipelines: Array<{ name: string; stages: Array<{ name: string; condition?: string }> }>;
      endpoints: { openai: Array<{ id: string; url: string; requestsPerMinute: number }> };
      inference: { maxLoadedModels: number };
    };
    expect(settings.tasks.map((t) => t.name)).toEqual([
      'code_review',
      'customer_email',
      'data_extraction',
      'complex_reasoning',
    ]);
    expect(settings.pipelines).toMatchObject([
      {
        name: 'imported',
        stages: [{ name: 'extract' }, { name: 'classify' }, { name: 'process', condition: "category == 'complex'" }],
      },
    ]);
    expect(settings.endpoints.openai).toMatchObject([
      { id: 'cloud', url: 'https://cloud.invalid/v1', requestsPerMinute: 100 },
    ]);
    expect(settings.inference.maxLoadedModels).toBe(3);
  });
});
