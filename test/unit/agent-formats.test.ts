// The coding-agent CLIs' streamed JSON read into a reply: recorded streams written from each CLI's documentation of
// its non-interactive mode (test/fixtures/agents; the CLIs cannot run here without their services), fed whole and
// split at every few bytes, as stdout arrives.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentFormat } from '../../main/common/settings-tools.ts';
import { agentAdapter, type AgentEvent } from '../../main/core/inference/agent/agent-formats.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'agents', name), 'utf8');

function read(format: AgentFormat, text: string, step = Infinity): { text: string; errors: string[]; usage?: object } {
  const a = agentAdapter(format);
  const events: AgentEvent[] = [];
  for (let i = 0; i < text.length; i += Math.min(step, text.length)) events.push(...a.push(text.slice(i, i + step)));
  events.push(...a.end());
  const usage = events.filter((e) => e.kind === 'usage').at(-1);
  return {
    text: events.map((e) => (e.kind === 'text' ? e.text : '')).join(''),
    errors: events.flatMap((e) => (e.kind === 'error' ? [e.message] : [])),
    ...(usage ? { usage } : {}),
  };
}

describe('agent output formats', () => {
  it.each([Infinity, 7, 1])('Claude Code stream-json (split every %s characters)', (step) => {
    const r = read('claude-stream-json', fixture('claude-stream-json.jsonl'), step);
    expect(r.text).toBe("I'll look at the tests first.\n🔧 Bash: npm test\n\n\nAll 12 tests pass.");
    expect(r.errors).toEqual([]);
    expect(r.usage).toEqual({ kind: 'usage', input: 52, output: 47 });
  });

  it('Claude Code with --include-partial-messages: the deltas, not the text twice', () => {
    expect(read('claude-stream-json', fixture('claude-stream-json-partial.jsonl')).text).toBe('Hello there.');
  });

  it('Claude Code ending in an error result', () => {
    const r = read('claude-stream-json', fixture('claude-stream-json-error.jsonl'));
    expect(r.errors).toEqual(['the run ended with error_max_turns']);
  });

  it.each([Infinity, 5])('Codex exec --json (split every %s characters)', (step) => {
    const r = read('codex-json', fixture('codex-json.jsonl'), step);
    expect(r.text).toBe('\n🔧 ran bash -lc ls\n\n🔧 changed update src/add.ts\nI fixed the off-by-one in src/add.ts.');
    expect(r.usage).toEqual({ kind: 'usage', input: 24763, output: 122 });
    expect(r.errors).toEqual([]);
  });

  it('Codex with a failed turn', () => {
    const r = read('codex-json', fixture('codex-json-failed.jsonl'));
    expect(r.errors).toEqual([
      'stream error: exceeded retry limit, last status: 429 Too Many Requests',
      'exceeded retry limit, last status: 429 Too Many Requests',
    ]);
  });

  it.each([Infinity, 3])('Gemini CLI stream-json (split every %s characters)', (step) => {
    const r = read('gemini-stream-json', fixture('gemini-stream-json.jsonl'), step);
    expect(r.text).toBe('\n🔧 run_shell_command: ls -la\nThere are two files: README.md and package.json.');
    expect(r.usage).toEqual({ kind: 'usage', input: 50, output: 200 });
  });

  it('Gemini CLI: a warning is not an error; an error result is', () => {
    const r = read('gemini-stream-json', fixture('gemini-stream-json-error.jsonl'));
    expect(r.errors).toEqual(['Reached max session turns for this session.']);
  });

  it('a line that is not JSON (a CLI warning) is kept as text; plain text passes as it comes', () => {
    expect(read('codex-json', 'WARNING: proceeding without a sandbox\n').text).toBe(
      'WARNING: proceeding without a sandbox\n',
    );
    expect(read('text', 'héllo wörld', 2).text).toBe('héllo wörld');
  });
});
