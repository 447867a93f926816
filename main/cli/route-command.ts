// `agent-room route "<text>" [--bot ID] [--json] [--classify]`: the router's decision for a request, without
// running inference: the task and how it was chosen, the sensitive kinds found, the model it would go to (or
// why none), where that runs, and the models passed over. The classifier runs only with --classify.
import type { BotConfig } from '../common/settings-schema.ts';
import { endpointOf } from '../core/inference/router-audit.ts';
import type { Decision } from '../core/inference/router-decide.ts';
import { describeKinds, nothingToTry } from '../core/inference/router-refusals.ts';
import type { InferenceRouter } from '../core/inference/router.ts';
import { describeError, flushStdio, openInference } from './cli-inference.ts';

export interface RouteFlags {
  bot?: string;
  json?: boolean;
  classify?: boolean;
}

export interface RouteReport {
  bot: string;
  task: string | null;
  taskSource: string | null;
  sensitive: false | { kinds: string[]; description: string };
  model: string | null;
  endpoint: string | null;
  local: boolean | null;
  reason: string;
  complexity: string;
  latency: string;
  next: Array<{ model: string; reason: string }>;
  skipped: Array<{ model: string; reason: string }>;
  classifier?: { model: string; task: string | null; ms: number; error?: string };
}

export function routeReport(router: InferenceRouter, bot: BotConfig, d: Decision): RouteReport {
  const first = d.error ? undefined : d.plan.candidates[0];
  const backend = first ? router.backendFor(first.model) : undefined;
  const refusal = d.error ?? (first ? undefined : nothingToTry(bot, d.plan.skipped, d.sensitive));
  return {
    bot: bot.id,
    task: d.task?.name ?? null,
    taskSource: d.task?.reason ?? null,
    sensitive: d.sensitive.length ? { kinds: d.sensitive, description: describeKinds(d.sensitive) } : false,
    model: first?.model ?? null,
    endpoint: first && backend ? endpointOf(first.model, backend.kind) : null,
    local: first && backend ? backend.isLocal(first.model) : null,
    reason: refusal ? `${refusal.message} ${refusal.hint}` : (first?.reason ?? ''),
    complexity: d.signals.complexity,
    latency: d.signals.latency,
    next: d.plan.candidates.slice(1),
    skipped: d.plan.skipped,
    ...(d.classifier
      ? {
          classifier: {
            model: d.classifier.model,
            task: d.classifier.task ?? null,
            ms: d.classifier.ms,
            ...(d.classifier.error ? { error: d.classifier.error } : {}),
          },
        }
      : {}),
  };
}

function printText(r: RouteReport, out: (s: string) => void): void {
  out(r.model ? `→ ${r.model} (${r.local ? 'on this machine' : `leaves this machine: ${r.endpoint}`})` : '→ refused');
  out(`  why:       ${r.reason}`);
  out(`  task:      ${r.task ? `${r.task}, chosen by ${r.taskSource}` : 'none'}`);
  out(`  sensitive: ${r.sensitive ? r.sensitive.description : 'nothing found'}`);
  out(`  request:   ${r.complexity} complexity, ${r.latency} latency`);
  if (r.classifier)
    out(
      `  classifier: ${r.classifier.model}: ${r.classifier.task ?? r.classifier.error ?? 'none'} (${r.classifier.ms} ms)`,
    );
  for (const c of r.next) out(`  then:      ${c.model}: ${c.reason}`);
  for (const s of r.skipped) out(`  passed:    ${s.model}: ${s.reason}`);
}

export async function runRoute(
  text: string,
  flags: RouteFlags & { dataDir: string },
  out: (s: string) => void = console.log,
  err: (s: string) => void = console.error,
): Promise<number> {
  // Listing models and deciding need no GPU build: the quick probe is enough.
  const cli = await openInference({ dataDir: flags.dataDir, probe: 'none-llama', warn: err });
  try {
    const bots = cli.settings().bots;
    const bot = flags.bot ? bots.find((b) => b.id === flags.bot) : bots[0];
    if (!bot) {
      err(
        flags.bot
          ? `No bot is called "${flags.bot}". Bots: ${bots.map((b) => b.id).join(', ') || 'none'}.`
          : 'No bots are configured yet: add one in the settings or with `agent-room serve` first.',
      );
      return 2;
    }
    const router = cli.service.router;
    const d = await router.decide({
      bot,
      messages: [
        { role: 'system', content: bot.systemPrompt },
        { role: 'user', content: text },
      ],
      question: text,
      classify: flags.classify ?? false,
    });
    const report = routeReport(router, bot, d);
    if (flags.json) out(JSON.stringify(report));
    else printText(report, out);
    return 0;
  } catch (e) {
    err(describeError(e));
    return 1;
  } finally {
    await cli.close();
    await flushStdio();
  }
}
