// @vitest-environment jsdom
// One allowlist for message HTML (main/common/matrix-html.ts): the bots' sanitizer (sanitize-html) and the
// window's (DOMPurify) keep the same tags, attributes and link schemes, apart from what the window says it drops.
import { describe, expect, it } from 'vitest';
import {
  MATRIX_HTML_TAGS,
  MATRIX_URL_SCHEMES,
  WINDOW_DROPPED_TAGS,
  WINDOW_DROPPED_URL_SCHEMES,
  WINDOW_HTML_ATTRIBUTES,
  WINDOW_URL_SCHEMES,
} from '../../main/common/matrix-html.ts';
import { sanitizeMatrixHtml } from '../../main/core/bots/markdown.ts';
import { sanitizeHtml as sanitizeForWindow } from '../../renderer/src/lib/markdown.ts';

const sides = { bots: sanitizeMatrixHtml, window: sanitizeForWindow };

/** Each tag in a context where an HTML parser keeps it (table parts inside a table, li in a list…). */
function sample(tag: string): string {
  const table =
    '<table><caption>c</caption><thead><tr><th>h</th></tr></thead><tbody><tr><td>d</td></tr></tbody></table>';
  const contexts: Record<string, string> = {
    li: '<ul><li>x</li></ul>',
    table,
    caption: table,
    thead: table,
    tbody: table,
    tr: table,
    th: table,
    td: table,
    summary: '<details><summary>s</summary>x</details>',
    img: '<img src="mxc://hs.example/abc" alt="i">',
    br: 'a<br>b',
    hr: 'a<hr>b',
  };
  return contexts[tag] ?? `<${tag}>x</${tag}>`;
}

/** The element names in sanitized output (escaped markup is text, not an element). */
function elements(html: string): Set<string> {
  const t = document.createElement('template');
  t.innerHTML = html;
  return new Set([...t.content.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()));
}

const kept = (sanitize: (html: string) => string, tags: readonly string[]) =>
  new Set(tags.filter((tag) => elements(sanitize(sample(tag))).has(tag)));

describe('the shared message HTML allowlist', () => {
  it('the two sides allow the same tags (the window leaves out only the tags it says it drops)', () => {
    const bots = kept(sides.bots, MATRIX_HTML_TAGS);
    const window = kept(sides.window, MATRIX_HTML_TAGS);
    expect([...bots].sort()).toEqual([...MATRIX_HTML_TAGS].sort());
    expect([...window].sort()).toEqual(MATRIX_HTML_TAGS.filter((t) => !WINDOW_DROPPED_TAGS.includes(t)).sort());
    expect([...bots].filter((t) => !WINDOW_DROPPED_TAGS.includes(t)).sort()).toEqual([...window].sort());
  });

  it.each(['script', 'iframe', 'style', 'object', 'form', 'input', 'button', 'svg', 'marquee', 'mx-reply'])(
    'neither side allows <%s>',
    (tag) => {
      for (const sanitize of Object.values(sides))
        expect(elements(sanitize(`<${tag}>x</${tag}>`)).has(tag)).toBe(false);
    },
  );

  it('both keep the shared attributes the window shows, and neither keeps handlers or styles', () => {
    const html =
      '<font color="red" data-mx-color="#ff0000" data-mx-bg-color="#000000" onclick="x()" style="position:fixed">f</font><ol start="3"><li>o</li></ol>';
    for (const sanitize of Object.values(sides)) {
      const t = document.createElement('template');
      t.innerHTML = sanitize(html);
      const font = t.content.querySelector('font')!;
      expect([
        font.getAttribute('color'),
        font.getAttribute('data-mx-color'),
        font.getAttribute('data-mx-bg-color'),
      ]).toEqual(['red', '#ff0000', '#000000']);
      expect(font.hasAttribute('onclick') || font.hasAttribute('style')).toBe(false);
      expect(t.content.querySelector('ol')!.getAttribute('start')).toBe('3');
    }
    expect(WINDOW_HTML_ATTRIBUTES).toEqual(
      expect.arrayContaining(['href', 'color', 'data-mx-color', 'data-mx-bg-color', 'start', 'class', 'title']),
    );
  });

  it('both keep links with the shared schemes (the window leaves out only those it says it drops) and drop every other', () => {
    const href = (sanitize: (html: string) => string, url: string) => {
      const t = document.createElement('template');
      t.innerHTML = sanitize(`<a href="${url}">x</a>`);
      return t.content.querySelector('a')?.getAttribute('href') ?? null;
    };
    const url = (s: string) => (s === 'mailto' || s === 'magnet' ? `${s}:x` : `${s}://example.org/x`);
    const keptSchemes = (sanitize: (html: string) => string) =>
      MATRIX_URL_SCHEMES.filter((s) => href(sanitize, url(s)) === url(s));
    expect(keptSchemes(sides.bots)).toEqual([...MATRIX_URL_SCHEMES]);
    expect(keptSchemes(sides.window)).toEqual([...WINDOW_URL_SCHEMES]);
    expect(MATRIX_URL_SCHEMES.filter((s) => !WINDOW_URL_SCHEMES.includes(s))).toEqual([...WINDOW_DROPPED_URL_SCHEMES]);
    for (const sanitize of Object.values(sides)) {
      for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'vbscript:x', 'file:///etc/passwd'])
        expect(href(sanitize, bad)).toBeNull();
    }
  });
});
