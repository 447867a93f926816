// The one allowlist for message HTML (org.matrix.custom.html): the tags, attributes and URL schemes that both
// sanitizers keep: the bots' (sanitize-html, main/core/bots/markdown.ts), which cleans what a model writes before
// it is sent, and the window's (DOMPurify, renderer/src/lib/markdown.ts), which cleans what anyone sent before it
// is shown. Each side keeps its library and reads its lists from here; where the window shows less, it is said
// below and why.

/** The tags the Matrix client-server spec suggests clients render (m.room.message, org.matrix.custom.html). */
export const MATRIX_HTML_TAGS: readonly string[] = [
  'font',
  'del',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'p',
  'a',
  'ul',
  'ol',
  'sup',
  'sub',
  'li',
  'b',
  'i',
  'u',
  'strong',
  'em',
  's',
  'strike',
  'code',
  'hr',
  'br',
  'div',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'caption',
  'pre',
  'span',
  'img',
  'details',
  'summary',
];

/** The attributes each tag may carry (the spec's list, and code's class for the language of a block). */
export const MATRIX_HTML_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  font: ['data-mx-bg-color', 'data-mx-color', 'color'],
  span: ['data-mx-bg-color', 'data-mx-color', 'data-mx-spoiler', 'data-mx-maths'],
  div: ['data-mx-maths'],
  a: ['name', 'target', 'href'],
  img: ['width', 'height', 'alt', 'title', 'src'],
  ol: ['start'],
  code: ['class'],
};

/** Schemes a link (href) may use. */
export const MATRIX_URL_SCHEMES: readonly string[] = ['https', 'http', 'ftp', 'mailto', 'magnet'];

/** Schemes an image (src) may use: only the homeserver's media repository; an http(s) image would leak the reader's IP. */
export const MATRIX_IMAGE_SCHEMES: readonly string[] = ['mxc'];

/** Tags the window drops: it has no loader for mxc:// media (which needs the access token), so an image is left out. */
export const WINDOW_DROPPED_TAGS: readonly string[] = ['img'];

/**
 * Attributes the window drops: it renders no spoilers or maths (data-mx-spoiler, data-mx-maths), has no use for
 * anchors' names, and the image attributes go with the images.
 */
export const WINDOW_DROPPED_ATTRIBUTES: readonly string[] = [
  'data-mx-spoiler',
  'data-mx-maths',
  'name',
  'width',
  'height',
  'alt',
  'src',
];

/**
 * Link schemes the window drops: DOMPurify's own URI check (which runs before the window's) has no magnet:, so a
 * magnet link reaches the window without its href, as it always has.
 */
export const WINDOW_DROPPED_URL_SCHEMES: readonly string[] = ['magnet'];

/** The tags the window keeps. */
export const WINDOW_HTML_TAGS: readonly string[] = MATRIX_HTML_TAGS.filter((t) => !WINDOW_DROPPED_TAGS.includes(t));

/** The attributes the window keeps, on any allowed tag (DOMPurify's list is not per tag). */
export const WINDOW_HTML_ATTRIBUTES: readonly string[] = [
  ...new Set(Object.values(MATRIX_HTML_ATTRIBUTES).flat()),
].filter((a) => !WINDOW_DROPPED_ATTRIBUTES.includes(a));

/** The link schemes the window keeps. */
export const WINDOW_URL_SCHEMES: readonly string[] = MATRIX_URL_SCHEMES.filter(
  (s) => !WINDOW_DROPPED_URL_SCHEMES.includes(s),
);

/** Whether a link's URL uses one of `schemes` (a relative URL does not). */
export function isAllowedLinkUrl(url: string, schemes: readonly string[] = MATRIX_URL_SCHEMES): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  return scheme !== undefined && schemes.includes(scheme);
}
