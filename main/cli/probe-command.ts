// `agent-room probe [--json]`: the hardware report and the inference plan, and beside it the paired peers (asked
// again, 2 s at most) with their GPUs, saying which runs a larger model than this machine can.
import type { DataPaths } from '../core/paths.ts';
import { peerAdvice, type PeerAdvice } from '../core/peers/peer-recommend.ts';
import { formatProbe } from '../core/probe/format.ts';
import { planInference } from '../core/probe/plan.ts';
import { probeHardware } from '../core/probe/probe.ts';
import { listedPeers } from './peer-command.ts';

export async function runProbe(
  options: { json?: boolean; preferOllama?: boolean; paths?: DataPaths },
  out: (s: string) => void = console.log,
): Promise<number> {
  const [report, peers] = await Promise.all([
    probeHardware(),
    options.paths ? listedPeers(options.paths).catch(() => []) : Promise.resolve([]),
  ]);
  const plan = planInference(report, { preferOllama: options.preferOllama ?? false });
  const advice = peerAdvice(plan, peers);
  out(
    options.json
      ? JSON.stringify({ report, plan, peers: advice }, null, 2)
      : formatProbe(report, plan) + peersText(advice),
  );
  return 0;
}

function peersText(advice: PeerAdvice[]): string {
  if (advice.length === 0) return '';
  return ['\n\nPeers', ...advice.map((a) => `  ${a.larger ? '* ' : '  '}${a.line}`)].join('\n');
}
