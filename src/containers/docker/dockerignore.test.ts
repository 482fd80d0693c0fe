import { describe, expect, test } from 'vitest';
import { parseDockerIgnore } from './dockerignore.js';

describe('.dockerignore syntax (moby/patternmatcher semantics)', () => {
  const ig = parseDockerIgnore(
    [
      '# comment',
      'node_modules',
      '/dist/',
      '**/*.log',
      '!keep.log',
      '*.md',
      '!README*.md',
      'docs/**/draft-?.txt',
      './tmp//cache',
      'secret[0-9].env',
      '',
    ].join('\n'),
  );
  test.each([
    ['node_modules', true],
    ['node_modules/react/index.js', true],
    ['packages/a/node_modules/x.js', false], // only the top-level folder: no **/
    ['dist/app.js', true],
    ['a/b/c.log', true],
    ['c.log', true],
    ['keep.log', false],
    ['sub/keep.log', true], // `!keep.log` re-includes the top-level one only
    ['CHANGELOG.md', true],
    ['README.md', false],
    ['README.de.md', false],
    ['sub/notes.md', false], // `*` does not cross `/`
    ['docs/draft-1.txt', true],
    ['docs/a/b/draft-x.txt', true],
    ['docs/a/draft-10.txt', false],
    ['tmp/cache/blob', true],
    ['secret1.env', true],
    ['secretA.env', false],
    ['src/index.ts', false],
  ])('%s ignored: %s', (p, ignored) => {
    expect(ig.ignores(p)).toBe(ignored);
  });
  test('the last matching pattern wins', () => {
    const x = parseDockerIgnore('*.txt\n!a.txt\na.txt\n');
    expect(x.ignores('a.txt')).toBe(true);
    expect(parseDockerIgnore('*\n!src\n').ignores('src/x.ts')).toBe(false);
    expect(parseDockerIgnore('*\n!src\n').ignores('other.ts')).toBe(true);
  });
  test('comments and blank lines are no patterns; line numbers are kept', () => {
    expect(ig.patterns.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
