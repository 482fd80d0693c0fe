/** Splitting text into words and sentences. */

// Letters and digits of any script, with inner apostrophes and hyphens ("don't", "well-known").
const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;
const HAS_WORD = /[\p{L}\p{N}]/u;

/** The words of `text`, lower-cased, in order. */
export function words(text: string): string[] {
  return Array.from(text.matchAll(WORD), (m) => m[0].toLowerCase().replace(/’/g, "'"));
}

/** Number of sentences: runs of text ending in . ! ? (a trailing fragment counts as one). */
export function sentenceCount(text: string): number {
  return text.split(/[.!?]+(?:\s+|$)/u).filter((s) => HAS_WORD.test(s)).length;
}
