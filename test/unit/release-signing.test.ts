// Signing in the release workflow and electron-builder.yml: each OS's installer job gets only its own secrets,
// notarization and the hardened runtime are configured for macOS, and with no secret set the job still builds,
// unsigned, and says so (the workflow's own "Signing" step, run here with bash for each case).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
type Step = { id?: string; name?: string; run?: string; env?: Record<string, string> };
const workflow = parseYaml(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as {
  jobs: Record<string, { steps: Step[] }>;
};
const steps = workflow.jobs.package!.steps;
const builder = parseYaml(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<
  string,
  Record<string, unknown>
>;

/** Runs the "Signing" step as GitHub would for one OS, with the secrets given; returns its outputs and log. */
function signingStep(os: string, secrets: Record<string, string>): { outputs: string; log: string } {
  const step = steps.find((s) => s.id === 'signing');
  if (!step?.run) throw new Error('no signing step');
  const dir = mkdtempSync(join(tmpdir(), 'signing-'));
  const out = join(dir, 'out');
  const script = step.run.replaceAll('${{ matrix.os }}', os);
  const env = {
    PATH: process.env.PATH ?? '',
    GITHUB_OUTPUT: out,
    MAC_CSC_LINK: '',
    WIN_CSC_LINK: '',
    APPLE_ID: '',
    ...secrets,
  };
  const log = execFileSync('bash', ['-eo', 'pipefail', '-c', `touch "$GITHUB_OUTPUT"; ${script}`], {
    env,
    encoding: 'utf8',
  });
  const outputs = readFileSync(out, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { outputs, log };
}

describe('signing', () => {
  it('gives each OS only its own certificate: macOS CSC_*, Windows WIN_CSC_*, the Apple ID for notarization', () => {
    const env = steps.find((s) => s.name === 'Build the installers')?.env ?? {};
    expect(env.CSC_LINK).toBe("${{ matrix.os == 'mac' && secrets.MAC_CSC_LINK || '' }}");
    expect(env.CSC_KEY_PASSWORD).toBe("${{ matrix.os == 'mac' && secrets.MAC_CSC_KEY_PASSWORD || '' }}");
    expect(env.WIN_CSC_LINK).toBe("${{ matrix.os == 'win' && secrets.WIN_CSC_LINK || '' }}");
    expect(env.WIN_CSC_KEY_PASSWORD).toBe("${{ matrix.os == 'win' && secrets.WIN_CSC_KEY_PASSWORD || '' }}");
    for (const k of ['APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID'])
      expect(env[k]).toBe(`\${{ secrets.${k} }}`);
    expect(env.CSC_IDENTITY_AUTO_DISCOVERY).toBe('${{ steps.signing.outputs.signed }}');
  });

  it('configures notarization and the hardened runtime for macOS', () => {
    expect(builder.mac).toMatchObject({ hardenedRuntime: true, notarize: true });
  });

  it.each([
    [
      'mac',
      { MAC_CSC_LINK: 'base64-p12', APPLE_ID: 'me@example.org' },
      'signed=true',
      /Code signing: true; notarization: true/,
    ],
    ['mac', {}, 'signed=false', /::warning title=Unsigned mac build::No signing certificate/],
    ['win', { WIN_CSC_LINK: 'base64-pfx' }, 'signed=true', /Code signing: true; notarization: false/],
    ['win', { MAC_CSC_LINK: 'a mac certificate' }, 'signed=false', /::warning title=Unsigned win build::/],
    ['linux', { MAC_CSC_LINK: 'x', WIN_CSC_LINK: 'y' }, 'signed=false', /Code signing: false/],
  ])('%s with %j: %s', (os, secrets, output, log) => {
    const r = signingStep(os, secrets);
    expect(r.outputs.trim()).toBe(output);
    expect(r.log).toMatch(log);
    if (os === 'linux') expect(r.log).not.toMatch(/warning/);
  });

  it('marks the build signed in its package.json, which the app reads to decide whether macOS can update in place', () => {
    const run = steps.find((s) => s.name === 'Build the installers')?.run ?? '';
    expect(run).toContain('-c.extraMetadata.agentRoom.signed=${{ steps.signing.outputs.signed }}');
  });
});
