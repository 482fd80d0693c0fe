import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sentenceCount, words } from '../src/tokenize.js';

test('words are lower-cased and keep inner apostrophes and hyphens', () => {
  assert.deepEqual(words("Don't stop: a well-known Ship's log, 1852!"), [
    "don't",
    'stop',
    'a',
    'well-known',
    "ship's",
    'log',
    '1852',
  ]);
});

test('typographic apostrophes become plain ones', () => {
  assert.deepEqual(words('It’s'), ["it's"]);
});

test('sentences end in . ! or ? and a trailing fragment counts', () => {
  assert.equal(sentenceCount('One. Two! Three? And four'), 4);
  assert.equal(sentenceCount('...'), 0);
  assert.equal(sentenceCount(''), 0);
});
