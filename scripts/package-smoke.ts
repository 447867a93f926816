// `npm run package:smoke`: proves electron-builder.yml packages what it should, without an Electron binary.
// 1. validates electron-builder.yml against electron-builder's own JSON schema (app-builder-lib/scheme.json);
// 2. runs `electron-builder --linux dir` with a stub electronDist (a file carrying Electron's fuse wire);
// 3. checks app.asar holds the built main, preload and renderer and no tests or sources, the unpacked
//    native files are linux-x64's only, the tray images are in resources, and the fuses were flipped.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
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
const output = join(work, 'out');
const started = Date.now();
const builder = spawnSync(
  join(root, 'node_modules/.bin/electron-builder'),
  [
    '--linux',
    'dir',
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
check(builder.status === 0, `electron-builder --linux dir succeeded (${((Date.now() - started) / 1000).toFixed(1)} s)`);
if (builder.status !== 0) {
  console.log(builder.stdout, builder.stderr);
  process.exit(1);
}

// 3. What came out.
const unpacked = join(output, 'linux-unpacked');
const asarPath = join(unpacked, 'resources', 'app.asar');
check(existsSync(asarPath), 'linux-unpacked/resources/app.asar exists');
const asar = require('@electron/asar') as typeof Asar;
const entries = asar.listPackage(asarPath, { isPack: false }).map((e) => e.replace(/\\/g, '/'));
for (const file of [
  '/dist/main/electron/main.js',
  '/dist/preload/preload.cjs',
  '/dist/renderer/index.html',
  '/package.json',
]) {
  check(entries.includes(file), `app.asar holds ${file}`);
}
const ours = entries.filter((e) => !e.startsWith('/node_modules/'));
const testFiles = entries.filter((e) => /\.(test|spec)\.[cm]?[jt]sx?$/.test(e) || e.startsWith('/test/'));
check(
  testFiles.length === 0,
  `no test files in app.asar${testFiles.length ? `: ${testFiles.slice(0, 5).join(', ')}` : ''}`,
);
const sources = ours.filter(
  (e) => /\.tsx?$/.test(e) || /^\/(main|renderer|scripts|test)\//.test(e) || e.endsWith('.map'),
);
check(
  sources.length === 0,
  `no sources or source maps of ours in app.asar${sources.length ? `: ${sources.slice(0, 5).join(', ')}` : ''}`,
);

const nativeDir = join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', '@node-llama-cpp');
const variants = existsSync(nativeDir) ? readdirSync(nativeDir).sort() : [];
check(
  variants.length === 1 && variants[0] === 'linux-x64',
  `unpacked node-llama-cpp binaries are linux-x64 only (found: ${variants.join(', ') || 'none'})`,
);
check(
  existsSync(join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', 'node-llama-cpp', 'package.json')),
  'node-llama-cpp is unpacked beside the asar',
);
const inAsarNative = entries.filter(
  (e) => e.startsWith('/node_modules/@node-llama-cpp/') && !e.startsWith('/node_modules/@node-llama-cpp/linux-x64'),
);
check(inAsarNative.length === 0, 'no other @node-llama-cpp variant inside app.asar');
check(
  existsSync(join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules', '@img', 'sharp-linux-x64')),
  "sharp's native binding is unpacked beside the asar",
);
for (const state of ['starting', 'ready', 'working', 'error'])
  check(existsSync(join(unpacked, 'resources', 'tray', `${state}.png`)), `resources/tray/${state}.png is packaged`);

const { getCurrentFuseWire } = require('@electron/fuses') as typeof Fuses;
const exe = readdirSync(unpacked).find((f) => f === 'agent-room' || f === 'Agent Room');
if (exe) {
  const wire = await getCurrentFuseWire(join(unpacked, exe));
  const on = (i: number) => (wire as unknown as Record<number, number>)[i] === 49;
  check(
    !on(0) && on(1) && !on(2) && !on(3) && on(4) && on(5),
    'the packaged binary has the fuses flipped as configured',
  );
} else check(false, 'the packaged executable is there');

rmSync(work, { recursive: true, force: true });
if (failures.length) {
  console.log(`\npackage smoke: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('\npackage smoke: all checks passed');
