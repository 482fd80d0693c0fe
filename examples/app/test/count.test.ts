import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countWords, top } from '../src/count.js';

test('stop words are skipped unless all is set', () => {
  const list = ['the', 'ship', 'and', 'the', 'sea', 'ship'];
  assert.deepEqual(
    [...countWords(list)],
    [
      ['ship', 2],
      ['sea', 1],
    ],
  );
  assert.equal(countWords(list, { all: true }).get('the'), 2);
});

test('top sorts by count, then alphabetically, and cuts at n', () => {
  const counts = new Map([
    ['b', 2],
    ['a', 2],
    ['c', 5],
    ['d', 1],
  ]);
  assert.deepEqual(top(counts, 3), [
    { word: 'c', count: 5 },
    { word: 'a', count: 2 },
    { word: 'b', count: 2 },
  ]);
  assert.deepEqual(top(counts, 0), []);
});
