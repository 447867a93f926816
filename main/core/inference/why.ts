// `!why`: where the room's last answer came from, in a few lines a person can read: the bot and model, on this
// machine or not, the task and how it was chosen, the sensitive kinds that kept it here, models passed over.
import type { RouteDecision } from './router.ts';
import { describeKinds } from './router-refusals.ts';

export function whyText(d: RouteDecision): string {
  const where = d.local ? 'on this machine' : 'outside this machine';
  const lines = [`${d.botId} answered with ${d.model} (${d.backend}, ${where}): ${d.reason}.`];
  if (d.task) lines.push(`- Task: ${d.task.name}, chosen by ${d.task.reason}.`);
  else lines.push('- Task: none (no `!task`, bot task, rule or classifier chose one).');
  lines.push(
    d.sensitive.length
      ? `- Sensitive: the request held ${describeKinds(d.sensitive)}, so only models on this machine were used.`
      : '- Sensitive: nothing found.',
  );
  for (const a of d.attempts.filter((x) => x.error))
    lines.push(`- Tried first: ${a.model}, which failed (${a.error?.code}).`);
  for (const s of d.skipped) lines.push(`- Passed over: ${s.model}: ${s.reason}.`);
  return lines.join('\n');
}
