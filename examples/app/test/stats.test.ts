import assert from 'node:assert/strict';
import { test } from 'node:test';
import { textStats } from '../src/stats.js';

test('text statistics', () => {
  const s = textStats('The tide turns. The ship sails at dawn!', 230);
  assert.deepEqual(s, { words: 8, uniqueWords: 7, sentences: 2, wordsPerSentence: 4, readingMinutes: 1 });
});

test('empty text has no sentences and no reading time', () => {
  assert.deepEqual(textStats(''), {
    words: 0,
    uniqueWords: 0,
    sentences: 0,
    wordsPerSentence: 0,
    readingMinutes: 0,
  });
});
