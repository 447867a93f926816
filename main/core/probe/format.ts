// Renders a hardware report and its inference plan as the plain-text tables of `agent-room probe`.
import type { InferencePlan } from './plan.ts';
import type { HardwareReport } from './report.ts';

function table(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

const gib = (mib: number) => `${(mib / 1024).toFixed(1)} GiB`;

export function formatProbe(report: HardwareReport, plan: InferencePlan): string {
  const { cpu, memory, os } = report;
  const simd = Object.entries(cpu.simd)
    .filter(([, on]) => on)
    .map(([k]) => k);
  const hardware: [string, string][] = [
    [
      'OS',
      `${os.distro || os.platform} ${os.release} (${os.platform}-${os.arch})${report.appleSilicon ? ', Apple Silicon' : ''}`,
    ],
    ['CPU', `${cpu.model} (${cpu.vendor})`],
    ['Cores', `${cpu.physicalCores} physical, ${cpu.logicalCores} logical, ${cpu.performanceCores} performance`],
    ['SIMD', simd.length ? simd.join(' ') : 'none detected'],
    ['Memory', `${gib(memory.totalMiB)} total, ${gib(memory.freeMiB)} available`],
  ];
  if (report.gpus.length === 0) hardware.push(['GPU', 'none found']);
  report.gpus.forEach((g, i) => {
    const vram =
      g.vramMiB === null
        ? g.sharedMemory
          ? 'shared memory'
          : 'VRAM unknown'
        : `${g.vramMiB} MiB VRAM${g.sharedMemory ? ' (shared)' : ''}`;
    hardware.push([`GPU ${i + 1}`, `${g.vendorName || g.vendor} ${g.model}, ${vram}, driver ${g.driver ?? 'none'}`]);
  });

  const llama: [string, string][] = report.llamaGpu.checked
    ? [
        ['Supported', report.llamaGpu.supported.join(', ') || 'no GPU type'],
        ...report.llamaGpu.tried.map((t): [string, string] => [
          t.gpu,
          t.loadable
            ? 'binary loads'
            : `not loadable: ${t.error && t.error !== t.errorName ? `${t.errorName ?? 'Error'}: ${t.error}` : (t.errorName ?? 'Error')}`,
        ]),
        ...(report.llamaGpu.error ? [['Error', report.llamaGpu.error] as [string, string]] : []),
      ]
    : [['Checked', 'no']];

  const o = report.ollama;
  const ollama: [string, string][] = [
    ['URL', o.url],
    [
      'Status',
      o.reachable ? `answers, version ${o.version ?? 'unknown'}` : `not reachable${o.error ? ` (${o.error})` : ''}`,
    ],
  ];
  if (o.models) ollama.push(['Models', o.models.length ? o.models.map((m) => m.name).join(', ') : 'none pulled']);

  const r = plan.recommended;
  const planRows: [string, string][] = [
    [
      'Backend',
      plan.backend + (plan.backend === 'ollama' ? ` (node-llama-cpp fallback: ${plan.llamaGpu || 'cpu'})` : ''),
    ],
    ['Threads', String(plan.threads)],
    ['GPU layers', String(plan.gpuLayers)],
    ['Context', `up to ${plan.contextTokens} tokens`],
    ['Memory budget', `${plan.memoryBudgetMiB} MiB`],
    ['Models loaded', `at most ${plan.maxLoadedModels}`],
    ['Recommended', `${r.label} (~${r.sizeMiB} MiB): llama:${r.llama} | ollama:${r.ollama}`],
    ['Chosen by', plan.recommendedBy === 'node-llama-cpp' ? "node-llama-cpp's fit estimate" : 'the memory tier table'],
  ];

  return [
    table('Hardware', hardware),
    table('node-llama-cpp', llama),
    table('Ollama', ollama),
    table('Plan', planRows),
    ['Reasons', ...plan.reasons.map((x) => `  - ${x}`)].join('\n'),
  ].join('\n\n');
}
