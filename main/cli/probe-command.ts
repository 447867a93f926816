// `agent-room probe [--json]`: the hardware report and the inference plan, with the recommended model
// (node-llama-cpp's fit estimate over the candidate models, recommend.ts) and why, and beside it the paired peers
// (asked again, 2 s at most) with their GPUs, saying which runs a larger model than this machine can.
import type { DataPaths } from '../core/paths.ts';
import { peerAdvice, type PeerAdvice } from '../core/peers/peer-recommend.ts';
import { formatProbe } from '../core/probe/format.ts';
import { planInference } from '../core/probe/plan.ts';
import { probeHardware } from '../core/probe/probe.ts';
import { recommendModel, withRecommendation } from '../core/probe/recommend.ts';
import { listedPeers } from './peer-command.ts';

export async function runProbe(
  options: { json?: boolean; preferOllama?: boolean; paths?: DataPaths },
  out: (s: string) => void = console.log,
  probe: typeof probeHardware = probeHardware,
): Promise<number> {
  const [report, peers] = await Promise.all([
    probe(),
    options.paths ? listedPeers(options.paths).catch(() => []) : Promise.resolve([]),
  ]);
  const base = planInference(report, { preferOllama: options.preferOllama ?? false });
  const pick = await recommendModel(report, base);
  const plan = withRecommendation(base, pick);
  const advice = peerAdvice(plan, peers);
  out(
    options.json
      ? JSON.stringify({ report, plan, recommendation: pick, peers: advice }, null, 2)
      : formatProbe(report, plan) + peersText(advice),
  );
  return 0;
}

function peersText(advice: PeerAdvice[]): string {
  if (advice.length === 0) return '';
  return ['\n\nPeers', ...advice.map((a) => `  ${a.larger ? '* ' : '  '}${a.line}`)].join('\n');
}
