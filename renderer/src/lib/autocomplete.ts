// Mention autocomplete decisions: which "@query" the caret is in, and which people or bots match it.

export interface MentionCandidate {
  userId: string;
  displayName: string;
  /** A bot's model, shown in the list. */
  detail?: string;
  isBot: boolean;
}

/** The "@query" that ends at the caret, if any: "@" at the start or after whitespace, no spaces inside. */
export function findMentionQuery(textBeforeCaret: string): { query: string; start: number } | undefined {
  const m = /(?:^|\s)@([^\s@]{0,32})$/.exec(textBeforeCaret);
  if (!m) return undefined;
  return { query: m[1]!, start: textBeforeCaret.length - m[1]!.length - 1 };
}

/** Candidates whose display name or user id starts with (then contains) the query; bots first. */
export function matchCandidates(query: string, candidates: MentionCandidate[], limit = 8): MentionCandidate[] {
  const q = query.toLowerCase();
  const score = (c: MentionCandidate): number => {
    const name = c.displayName.toLowerCase();
    const local = c.userId.slice(1).toLowerCase();
    if (q === '') return 1;
    if (name.startsWith(q) || local.startsWith(q)) return 3;
    if (name.split(/\s+/).some((w) => w.startsWith(q))) return 2;
    if (name.includes(q) || local.includes(q)) return 1;
    return 0;
  };
  return candidates
    .map((c) => ({ c, s: score(c) }))
    .filter((x) => x.s > 0)
    .sort(
      (a, b) => b.s - a.s || Number(b.c.isBot) - Number(a.c.isBot) || a.c.displayName.localeCompare(b.c.displayName),
    )
    .slice(0, limit)
    .map((x) => x.c);
}
