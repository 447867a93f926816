// Keeps node-llama-cpp's GPU binary checks (seconds: each loads native code) between starts. The cheap part
// of the probe (systeminformation, Ollama) runs every time; the cached checks are reused only while the
// hardware, the OS and node-llama-cpp's version are the same.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HardwareReport, LlamaGpuReport } from './report.ts';
import { probeHardware, type ProbeOptions } from './probe.ts';

interface CacheFile {
  fingerprint: string;
  llamaGpu: LlamaGpuReport;
}

/** What, if it changed, could change which GPU binaries load. */
export function hardwareFingerprint(report: Pick<HardwareReport, 'cpu' | 'gpus' | 'os'>, llamaVersion: string): string {
  const parts = [
    llamaVersion,
    report.os.platform,
    report.os.arch,
    report.os.release ?? '',
    report.cpu.model,
    ...report.gpus.map((g) => `${g.vendor}|${g.model}|${g.vramMiB ?? ''}|${g.driver ?? ''}`),
  ];
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

async function llamaVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL(import.meta.resolve('node-llama-cpp/package.json')), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function probeWithCache(
  file: string,
  options: ProbeOptions & { refresh?: boolean } = {},
): Promise<HardwareReport> {
  const quick = await probeHardware({ ...options, llamaProbe: false });
  const fingerprint = hardwareFingerprint(quick, await llamaVersion());
  if (!options.refresh) {
    try {
      const cached = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
      if (cached.fingerprint === fingerprint && cached.llamaGpu?.checked)
        return { ...quick, llamaGpu: cached.llamaGpu };
    } catch {
      // No cache yet, or unreadable: probe fully below.
    }
  }
  const full = await probeHardware(options);
  try {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ fingerprint, llamaGpu: full.llamaGpu } satisfies CacheFile));
    await rename(tmp, file);
  } catch {
    // A read-only data folder only costs the next start the full probe.
  }
  return full;
}
