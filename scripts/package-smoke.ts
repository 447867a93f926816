// `npm run package:smoke`: proves electron-builder.yml packages what it should, without an Electron binary.
// 1. validates electron-builder.yml against electron-builder's own JSON schema (app-builder-lib/scheme.json);
//    and, for every installer the release builds (mac x64/arm64, win x64, linux x64/arm64), which node-llama-cpp
//    platform packages its `files` patterns keep, matched as electron-builder does (minimatch, `${arch}` expanded):
//    exactly its own CPU build;
// 2. runs `electron-builder --linux dir` for x64 and arm64 with a stub electronDist (a file carrying Electron's fuse wire);
// 3. checks app.asar holds the built main, preload and renderer and no tests or sources, the unpacked
//    native files are that CPU's only, the tray images are in resources, and the fuses were flipped.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';
import type AjvClass from 'ajv';
import type * as Asar from '@electron/asar';
import type * as Fuses from '@electron/fuses';
import type * as MinimatchModule from 'minimatch';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ELECTRON_VERSION = '45.4.1';
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

// 1. The config against electron-builder's schema.
const Ajv = require('ajv') as typeof AjvClass.default;
const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
const config = parseYaml(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
const valid = ajv.validate(schema, config);
check(valid, 'electron-builder.yml matches app-builder-lib/scheme.json');
if (!valid) console.log(ajv.errorsText(ajv.errors, { separator: '\n  ' }));
const fuses = config.electronFuses as Record<string, boolean> | undefined;
const wanted = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
};
for (const [fuse, value] of Object.entries(wanted)) check(fuses?.[fuse] === value, `fuse ${fuse} is set to ${value}`);

// 1b. The node-llama-cpp binaries each installer keeps: the platform's exclusions (electron-builder reads only the
// `!` patterns for node_modules), `${arch}` expanded, over every platform package node-llama-cpp lists.
const { Minimatch } = require('minimatch') as typeof MinimatchModule;
const llamaPackages = Object.keys(
  (
    JSON.parse(readFileSync(join(root, 'node_modules/node-llama-cpp/package.json'), 'utf8')) as {
      optionalDependencies: object;
    }
  ).optionalDependencies,
).map((name) => `node_modules/${name}/package.json`);
const installers: Array<[string, string, string]> = [
  ['mac', 'x64', 'mac-x64'],
  ['mac', 'arm64', 'mac-arm64-metal'],
  ['win', 'x64', 'win-x64'],
  ['linux', 'x64', 'linux-x64'],
  ['linux', 'arm64', 'linux-arm64'],
];
for (const [platform, arch, only] of installers) {
  const patterns = ((config[platform] as { files?: string[] } | undefined)?.files ?? [])
    .filter((p) => p.startsWith('!'))
    .map((p) => new Minimatch(p.replaceAll('${arch}', arch), { dot: true }));
  const kept = llamaPackages
    .filter((file) => patterns.every((m) => m.match(file)))
    .map((file) => file.split('/')[2] ?? file);
  check(
    kept.length === 1 && kept[0] === only,
    `the ${platform} ${arch} installer keeps @node-llama-cpp/${only} only (keeps: ${kept.join(', ') || 'none'})`,
  );
}

// 2. The build. dist/ comes from `npm run build`; build it when missing.
if (
  ['dist/main/electron/main.js', 'dist/preload/preload.cjs', 'dist/renderer/index.html'].some(
    (f) => !existsSync(join(root, f)),
  )
) {
  console.log('dist/ is missing: running npm run build');
  execFileSync('npm', ['run', 'build', '--', '--quiet'], { cwd: root, stdio: 'inherit' });
}
const work = mkdtempSync(join(tmpdir(), 'agent-room-package-'));
const electronDist = join(work, 'electron-dist');
mkdirSync(electronDist);
// Electron's fuse wire (v1, 8 fuses, as shipped: runAsNode on, cookie encryption off …), so the fuse step runs for real.
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
writeFileSync(
  join(electronDist, 'electron'),
  Buffer.concat([
    Buffer.from('#!/bin/sh\nexit 0\n'),
    Buffer.from(SENTINEL),
    Buffer.from([1, 8]),
    Buffer.from('10110001', 'ascii'),
  ]),
);
chmodSync(join(electronDist, 'electron'), 0o755);
const asar = require('@electron/asar') as typeof Asar;
const { getCurrentFuseWire } = require('@electron/fuses') as typeof Fuses;

/** Builds `--linux dir` for one CPU and checks what came out. */
async function buildAndCheck(arch: 'x64' | 'arm64'): Promise<void> {
  const output = join(work, `out-${arch}`);
  const started = Date.now();
  const builder = spawnSync(
    join(root, 'node_modules/.bin/electron-builder'),
    [
      '--linux',
      'dir',
      `--${arch}`,
      '--publish',
      'never',
      '--config',
      'electron-builder.yml',
      `-c.electronDist=${electronDist}`,
      `-c.electronVersion=${ELECTRON_VERSION}`,
      `-c.directories.output=${output}`,
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false' } },
  );
  check(
    builder.status === 0,
    `electron-builder --linux dir --${arch} succeeded (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  if (builder.status !== 0) {
    console.log(builder.stdout, builder.stderr);
    process.exit(1);
  }

  // 3. What came out.
  const unpacked = join(output, arch === 'x64' ? 'linux-unpacked' : `linux-${arch}-unpacked`);
  const asarPath = join(unpacked, 'resources', 'app.asar');
  check(existsSync(asarPath), `${arch}: resources/app.asar exists`);
  const entries = asar.listPackage(asarPath, { isPack: false }).map((e) => e.replace(/\\/g, '/'));
  for (const file of [
    '/dist/main/electron/main.js',
    '/dist/preload/preload.cjs',
    '/dist/renderer/index.html',
    '/package.json',
  ]) {
    check(entries.includes(file), `${arch}: app.asar holds ${file}`);
  }
  const ours = entries.filter((e) => !e.startsWith('/node_modules/'));
  const testFiles = entries.filter((e) => /\.(test|spec)\.[cm]?[jt]sx?$/.test(e) || e.startsWith('/test/'));
  check(
    testFiles.length === 0,
    `${arch}: no test files in app.asar${testFiles.length ? `: ${testFiles.slice(0, 5).join(', ')}` : ''}`,
  );
  const sources = ours.filter(
    (e) => /\.tsx?$/.test(e) || /^\/(main|renderer|scripts|test)\//.test(e) || e.endsWith('.map'),
  );
  check(
    sources.length === 0,
    `${arch}: no sources or source maps of ours in app.asar${sources.length ? `: ${sources.slice(0, 5).join(', ')}` : ''}`,
  );

  const own = `linux-${arch}`;
  const nativeDir = join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', '@node-llama-cpp');
  const variants = existsSync(nativeDir) ? readdirSync(nativeDir).sort() : [];
  check(
    variants.length === 1 && variants[0] === own,
    `${arch}: unpacked node-llama-cpp binaries are ${own} only (found: ${variants.join(', ') || 'none'})`,
  );
  if (variants.length === 0 && lstatSync(join(root, 'node_modules')).isSymbolicLink())
    console.log(
      "     node_modules is a symbolic link (a git worktree sharing another checkout's): electron-builder then sees\n" +
        '     every package as linked and collects none of the optional ones. Run this in a checkout with its own node_modules.',
    );
  check(
    existsSync(join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', 'node-llama-cpp', 'package.json')),
    `${arch}: node-llama-cpp is unpacked beside the asar`,
  );
  const inAsarNative = entries.filter(
    (e) => e.startsWith('/node_modules/@node-llama-cpp/') && !e.startsWith(`/node_modules/@node-llama-cpp/${own}`),
  );
  check(inAsarNative.length === 0, `${arch}: no other @node-llama-cpp variant inside app.asar`);
  // sharp's binding for the target: here only the machine's own is installed (the release workflow installs each).
  if (existsSync(join(root, 'node_modules', '@img', `sharp-linux-${arch}`)))
    check(
      existsSync(join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', '@img', `sharp-linux-${arch}`)),
      `${arch}: sharp's native binding is unpacked beside the asar`,
    );
  check(
    entries.some((e) => e.startsWith('/node_modules/electron-updater/')),
    `${arch}: electron-updater is packaged (the app reads its update feed)`,
  );
  for (const state of ['starting', 'ready', 'working', 'error'])
    check(
      existsSync(join(unpacked, 'resources', 'tray', `${state}.png`)),
      `${arch}: resources/tray/${state}.png is packaged`,
    );

  const exe = readdirSync(unpacked).find((f) => f === 'agent-room' || f === 'Agent Room');
  if (exe) {
    const wire = await getCurrentFuseWire(join(unpacked, exe));
    const on = (i: number) => (wire as unknown as Record<number, number>)[i] === 49;
    check(
      !on(0) && on(1) && !on(2) && !on(3) && on(4) && on(5),
      `${arch}: the packaged binary has the fuses flipped as configured`,
    );
  } else check(false, `${arch}: the packaged executable is there`);
}

await buildAndCheck('x64');
await buildAndCheck('arm64');

rmSync(work, { recursive: true, force: true });
if (failures.length) {
  console.log(`\npackage smoke: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('\npackage smoke: all checks passed');
