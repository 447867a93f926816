// `agent-room probe [--json]`: the hardware report and the inference plan.
import { formatProbe } from '../core/probe/format.ts';
import { planInference } from '../core/probe/plan.ts';
import { probeHardware } from '../core/probe/probe.ts';

export async function runProbe(
  options: { json?: boolean; preferOllama?: boolean },
  out: (s: string) => void = console.log,
): Promise<number> {
  const report = await probeHardware();
  const plan = planInference(report, { preferOllama: options.preferOllama ?? false });
  out(options.json ? JSON.stringify({ report, plan }, null, 2) : formatProbe(report, plan));
  return 0;
}
