// What a request looks like, measured without a model: its length, code blocks and their languages, its
// structure, an explicit `!task`, and from these its complexity and latency classes. Pure and fast: the router
// asks for every request, on the question only (the context is checked by the privacy scan, not here).

export type Complexity = 'low' | 'normal' | 'high';
export type Latency = 'fast' | 'normal';

export interface RequestSignals {
  chars: number;
  lines: number;
  /** Fenced code blocks (```), opened or closed. */
  codeBlocks: number;
  /** Their languages as written after the fence, lower-case (`ts`, `python`). */
  codeLanguages: string[];
  /** List items and questions: structure that asks for more than one thing. */
  listItems: number;
  questions: number;
  /** The first `!word` of the request (`!code`), lower-case, without the `!`. */
  command: string | undefined;
  /** `!task <name>` in the request. */
  explicitTask: string | undefined;
  complexity: Complexity;
  latency: Latency;
  /** The words behind the classes, for the decision's reason. */
  why: string[];
}

const FENCE = /^[ \t]*(```|~~~)[ \t]*([\w+#.-]*)/gm;
const HARD =
  /\b(analy[sz]e|prove|step[- ]by[- ]step|trade-?offs?|architecture|design|compare|in depth|thoroughly|reason about|derive|plan)\b/i;
const QUICK = /\b(quick(ly)?|briefly|short answer|one word|tl;?dr|yes or no)\b/i;

/** The fenced blocks' languages ("" for a fence without one), from the opening fences only. */
function fences(text: string): { blocks: number; languages: string[] } {
  let open = false;
  let blocks = 0;
  const languages: string[] = [];
  for (const m of text.matchAll(FENCE)) {
    if (!open) {
      blocks++;
      const lang = (m[2] ?? '').toLowerCase();
      if (lang) languages.push(lang);
    }
    open = !open;
  }
  return { blocks, languages };
}

export function requestSignals(question: string): RequestSignals {
  const text = question.trim();
  const { blocks, languages } = fences(text);
  const lines = text ? text.split('\n').length : 0;
  const listItems = (text.match(/^\s*(?:[-*•]|\d+[.)])\s+\S/gm) ?? []).length;
  const questions = (text.match(/\?(\s|$)/g) ?? []).length;
  const command = /(?:^|\s)!([a-z][\w-]*)/i.exec(text)?.[1]?.toLowerCase();
  const explicitTask = /(?:^|\s)!task\s+([a-z0-9][a-z0-9_.-]*)/i.exec(text)?.[1]?.toLowerCase();
  const why: string[] = [];
  let complexity: Complexity = 'normal';
  if (text.length > 2000) why.push(`${text.length} characters`);
  if (listItems >= 5) why.push(`${listItems} list items`);
  if (questions >= 3) why.push(`${questions} questions`);
  if (HARD.test(text) && text.length > 120) why.push(`asks to "${HARD.exec(text)?.[0]}"`);
  if (why.length > 0) complexity = 'high';
  else if (text.length < 80 && lines <= 1 && blocks === 0) complexity = 'low';
  const quick = QUICK.test(text);
  const latency: Latency = quick || (complexity === 'low' && questions <= 1) ? 'fast' : 'normal';
  if (latency === 'fast') why.push(quick ? `asks for a "${QUICK.exec(text)?.[0]}" answer` : 'a short question');
  return {
    chars: text.length,
    lines,
    codeBlocks: blocks,
    codeLanguages: languages,
    listItems,
    questions,
    command,
    explicitTask,
    complexity,
    latency,
    why,
  };
}
