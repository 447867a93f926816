// @vitest-environment jsdom
// The message sanitizer: HTML injection in formatted_body or in Markdown bodies never reaches the page.
import { describe, expect, it } from 'vitest';
import { renderMessageHtml, sanitizeHtml, stripReplyFallback } from '../../renderer/src/lib/markdown.ts';

function dom(html: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = html;
  return div;
}

describe('sanitizeHtml', () => {
  const attacks: [string, string][] = [
    ['script tag', '<p>hi</p><script>alert(1)</script>'],
    ['event handler', '<img src=x onerror="alert(1)"><b onclick="alert(1)">bold</b>'],
    ['javascript: link', '<a href="javascript:alert(1)">click</a>'],
    ['iframe', '<iframe src="https://evil.example"></iframe>text'],
    ['style tag', '<style>body{display:none}</style><span style="position:fixed">x</span>'],
    ['svg with script', '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>'],
    ['form', '<form action="https://evil.example"><input name="p"></form>'],
    ['data: url', '<a href="data:text/html,<script>alert(1)</script>">x</a>'],
  ];
  it.each(attacks)('strips %s', (_name, html) => {
    const out = dom(sanitizeHtml(html));
    expect(out.querySelector('script, iframe, style, img, form, input, svg')).toBeNull();
    for (const el of out.querySelectorAll('*')) {
      for (const attr of el.getAttributeNames()) expect(attr.startsWith('on') || attr === 'style').toBe(false);
      const href = el.getAttribute('href');
      if (href !== null) expect(href).toMatch(/^(https?|mailto|ftp|magnet):/);
    }
  });

  it('keeps the formatting Matrix allows and turns user links into pills', () => {
    const out = dom(
      sanitizeHtml('<b>bold</b> <code>x</code> <a href="https://matrix.to/#/@qwen:example.org">Qwen</a>'),
    );
    expect(out.querySelector('b')?.textContent).toBe('bold');
    const pill = out.querySelector('a.pill');
    expect(pill?.getAttribute('data-mention-user-id')).toBe('@qwen:example.org');
    expect(pill?.getAttribute('rel')).toBe('noreferrer noopener');
  });
});

describe('renderMessageHtml', () => {
  it('renders a plain body as Markdown and sanitizes raw HTML in it', () => {
    const out = dom(renderMessageHtml({ body: '**Hello** <img src=x onerror=alert(1)> [x](javascript:alert(1))' }));
    expect(out.querySelector('strong')?.textContent).toBe('Hello');
    expect(out.querySelector('img')).toBeNull();
    expect(out.innerHTML).not.toMatch(/onerror|javascript:/);
  });

  it('highlights code blocks with escaped text', () => {
    const out = dom(renderMessageHtml({ body: '```js\nconst a = "<b>x</b>";\n```' }));
    const code = out.querySelector('pre > code');
    expect(code?.classList.contains('hljs')).toBe(true);
    expect(code?.querySelector('.hljs-keyword')?.textContent).toBe('const');
    expect(code?.querySelector('b')).toBeNull();
    expect(code?.textContent).toBe('const a = "<b>x</b>";\n');
  });

  it('prefers formatted_body and drops the reply fallback', () => {
    const out = dom(
      renderMessageHtml({
        body: '> <@a:x> old\n\nnew',
        format: 'org.matrix.custom.html',
        formatted_body: '<mx-reply><blockquote>old</blockquote></mx-reply><i>new</i>',
      }),
    );
    expect(out.textContent).toBe('new');
    expect(out.querySelector('i')).not.toBeNull();
    expect(stripReplyFallback('> <@a:x> old\n> more\n\nnew text')).toBe('new text');
  });
});
