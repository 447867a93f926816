// `agent-room probe [--json]`: the hardware report and the inference plan, with the recommended model
// (node-llama-cpp's fit estimate over the candidate models, recommend.ts) and why.
import { formatProbe } from '../core/probe/format.ts';
import { planInference } from '../core/probe/plan.ts';
import { probeHardware } from '../core/probe/probe.ts';
import { recommendModel, withRecommendation } from '../core/probe/recommend.ts';

export async function runProbe(
  options: { json?: boolean; preferOllama?: boolean },
  out: (s: string) => void = console.log,
  probe: typeof probeHardware = probeHardware,
): Promise<number> {
  const report = await probe();
  const base = planInference(report, { preferOllama: options.preferOllama ?? false });
  const pick = await recommendModel(report, base);
  const plan = withRecommendation(base, pick);
  out(options.json ? JSON.stringify({ report, plan, recommendation: pick }, null, 2) : formatProbe(report, plan));
  return 0;
}
