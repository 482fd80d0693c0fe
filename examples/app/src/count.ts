/** Word frequencies. */
import { isStopword, STOPWORDS } from './stopwords.js';

export interface CountOptions {
  /** Keep stop words (default false). */
  all?: boolean;
  stopwords?: ReadonlySet<string>;
}

export interface Entry {
  word: string;
  count: number;
}

/** Counts each word, skipping stop words unless `all` is set. */
export function countWords(list: readonly string[], options: CountOptions = {}): Map<string, number> {
  const stop = options.stopwords ?? STOPWORDS;
  const counts = new Map<string, number>();
  for (const w of list) {
    if (!options.all && isStopword(w, stop)) continue;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

/** The `n` most frequent words, ties broken alphabetically so output is stable. */
export function top(counts: ReadonlyMap<string, number>, n: number): Entry[] {
  return [...counts]
    .map(([word, count]) => ({ word, count }))
    .sort((a, b) => b.count - a.count || a.word.localeCompare(b.word))
    .slice(0, Math.max(0, n));
}
