/** Plain-text rendering for the CLI. */
import type { Entry } from './count.js';
import type { TextStats } from './stats.js';

/** A ranked, right-aligned table of words with a bar scaled to the most frequent one. */
export function renderTop(entries: readonly Entry[], barWidth = 20): string {
  if (entries.length === 0) return '(no words)';
  const max = entries[0]?.count ?? 1;
  const wordWidth = Math.max(...entries.map((e) => e.word.length));
  const countWidth = String(max).length;
  return entries
    .map((e, i) => {
      const bar = '#'.repeat(Math.max(1, Math.round((e.count / max) * barWidth)));
      const rank = String(i + 1).padStart(String(entries.length).length);
      return `${rank}. ${e.word.padEnd(wordWidth)}  ${String(e.count).padStart(countWidth)}  ${bar}`;
    })
    .join('\n');
}

/** One line per statistic. */
export function renderStats(s: TextStats): string {
  return [
    `words            ${s.words}`,
    `unique words     ${s.uniqueWords}`,
    `sentences        ${s.sentences}`,
    `words/sentence   ${s.wordsPerSentence}`,
    `reading time     ${s.readingMinutes} min`,
  ].join('\n');
}
