/** How much of someone else's text (an identity provider's, a request header's) a page repeats, at most. */
export const QUOTED_AT_MOST = 200;

/** Someone else's text, made one printable line of bounded length before a page quotes it. */
export function quoted(text: string, max = QUOTED_AT_MOST): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
