/** tally: word frequencies and reading statistics for plain text. */
export { countWords, type Entry, top } from './count.js';
export { renderStats, renderTop } from './format.js';
export { type TextStats, textStats } from './stats.js';
export { isStopword, STOPWORDS } from './stopwords.js';
export { sentenceCount, words } from './tokenize.js';
