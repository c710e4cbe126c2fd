/**
 * Text measured the way people count it: in characters (Unicode code points), not in the UTF-16
 * units of a JavaScript string, where an emoji or another character outside the Basic
 * Multilingual Plane counts twice.
 */

/** Number of code points in `text`. */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The first `max` code points of a text and the length of the whole, as records keep it. */
export interface Excerpt {
  text: string;
  length: number;
}

/** Never splits a surrogate pair: the excerpt is valid text even when the cut falls inside an emoji. */
export function excerpt(text: string, max: number): Excerpt {
  let taken = 0;
  let end = 0;
  let length = 0;
  for (const ch of text) {
    if (taken < max) {
      taken++;
      end += ch.length;
    }
    length++;
  }
  return { text: text.slice(0, end), length };
}
