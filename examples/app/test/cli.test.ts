import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../src/cli.js';

test('prints the top words of stdin', () => {
  const { out, code } = run(['--top', '2'], () => 'Launch the ship. The ship floats; launch again, ship!');
  assert.equal(code, 0);
  assert.equal(out, '1. ship    3  ####################\n2. launch  2  #############');
});

test('a bad --top is a usage error', () => {
  assert.equal(run(['--top', 'zero'], () => '').code, 2);
  assert.equal(run(['--nope'], () => '').code, 2);
});

test('a missing file exits 1 with its name', () => {
  const { out, code } = run(['/nonexistent/tally.txt'], () => '');
  assert.equal(code, 1);
  assert.match(out, /cannot read \/nonexistent\/tally\.txt/);
});
