// Markdown rendered to sanitized Matrix HTML, and command parsing.
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../main/core/bots/markdown.ts';
import { findBot, parseCommand } from '../../main/core/bots/commands.ts';

describe('renderMarkdown', () => {
  it.each([
    ['**bold** and `code`', '<p><strong>bold</strong> and <code>code</code></p>'],
    ['```js\nlet a\n```', '<pre><code class="language-js">let a\n</code></pre>'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['[x](javascript:alert(1))', '<p><a target="_blank">x</a></p>'],
    ['![i](https://evil/x.png)', '<p><img alt="i" /></p>'],
    ['<b onclick="x()">hi</b>', '<p><b>hi</b></p>'],
    ['[ok](https://example.org)', '<p><a href="https://example.org" target="_blank">ok</a></p>'],
  ])('%j', (md, html) => expect(renderMarkdown(md)).toBe(html));
});

describe('parseCommand', () => {
  it.each([
    ['!help', { name: 'help' }],
    ['  !STATUS ', { name: 'status' }],
    ['!models', { name: 'models' }],
    ['!model @qwen ollama:qwen2.5:0.5b', { name: 'model', bot: 'qwen', model: 'ollama:qwen2.5:0.5b' }],
    ['!model qwen', { name: 'invalid' }],
    ['!reset', { name: 'reset' }],
    ['!stop', { name: 'stop' }],
    ['!unknown', undefined],
    ['hello !help', undefined],
  ])('%j', (body, out) => {
    const c = parseCommand(body);
    if (out === undefined) expect(c).toBeUndefined();
    else expect(c).toMatchObject(out);
  });
  it('finds bots by id, name or localpart', () => {
    const bots = [{ id: 'q', displayName: 'Qwen', model: 'm', userId: '@qwen-bot:x' }];
    expect(findBot(bots, 'QWEN')?.id).toBe('q');
    expect(findBot(bots, 'qwen-bot')?.id).toBe('q');
    expect(findBot(bots, 'q')?.id).toBe('q');
    expect(findBot(bots, 'nope')).toBeUndefined();
  });
});
