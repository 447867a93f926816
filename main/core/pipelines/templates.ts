// A stage's prompt template: {{input}} is the request, {{previous}} the output of the stage that ran last, and
// {{<stage>}} an earlier stage's output (a JSON answer as JSON text; a skipped stage as nothing).
import type { StageOutput } from './conditions.ts';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The names a template refers to, other than input and previous. */
export function templateNames(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((n) => n !== 'input' && n !== 'previous');
}

const asText = (o: StageOutput): string => (o.json === undefined ? o.text : JSON.stringify(o.json));

/** The prompt with every placeholder filled; `outputs` are the stages that ran, in order. */
export function renderTemplate(template: string, input: string, outputs: readonly StageOutput[]): string {
  const last = outputs.at(-1);
  return template.replace(PLACEHOLDER, (_whole, name: string) => {
    if (name === 'input') return input;
    if (name === 'previous') return last ? asText(last) : input;
    const o = outputs.find((x) => x.name === name);
    return o ? asText(o) : '';
  });
}
