/** Common English words that say little about what a text is about. */

const LIST =
  'a about after all also an and any are as at be because been but by can could did do does for from ' +
  'had has have he her him his how i if in into is it its just me more most my no not of on one or ' +
  'our out she so some such than that the their them then there these they this to up us was we were ' +
  'what when which who will with would you your';

/** The default stop-word set. */
export const STOPWORDS: ReadonlySet<string> = new Set(LIST.split(' '));

/** True when `word` is a stop word (or a single character). */
export function isStopword(word: string, stopwords: ReadonlySet<string> = STOPWORDS): boolean {
  return word.length < 2 || stopwords.has(word);
}
