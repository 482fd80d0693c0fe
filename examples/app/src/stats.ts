/** Reading statistics for a whole text. */
import { countWords } from './count.js';
import { sentenceCount, words } from './tokenize.js';

export interface TextStats {
  words: number;
  uniqueWords: number;
  sentences: number;
  /** Mean words per sentence, one decimal. */
  wordsPerSentence: number;
  /** Minutes to read at `wordsPerMinute`, rounded up. */
  readingMinutes: number;
}

/** Counts words, distinct words and sentences, and estimates reading time. */
export function textStats(text: string, wordsPerMinute = 230): TextStats {
  const list = words(text);
  const sentences = sentenceCount(text);
  return {
    words: list.length,
    uniqueWords: countWords(list, { all: true }).size,
    sentences,
    wordsPerSentence: sentences === 0 ? 0 : Math.round((list.length / sentences) * 10) / 10,
    readingMinutes: Math.ceil(list.length / wordsPerMinute),
  };
}
