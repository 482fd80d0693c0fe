import { lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { lstatNumbers } from './lstat-numbers.js';

const temp = tempDirs();

const kept = (p: string) => {
  const s = lstatSync(p);
  return {
    dev: s.dev,
    mode: s.mode,
    ino: s.ino,
    size: s.size,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
    kind: [s.isFile(), s.isDirectory(), s.isSymbolicLink()],
  };
};

describe('lstatNumbers', () => {
  it("gives lstatSync's numbers for a file, a folder and a symlink (not its target)", () => {
    const dir = temp('slipway-lstat-');
    writeFileSync(path.join(dir, 'a.txt'), 'x'.repeat(1234));
    mkdirSync(path.join(dir, 'sub'));
    symlinkSync('a.txt', path.join(dir, 'link'));
    for (const p of [dir, path.join(dir, 'a.txt'), path.join(dir, 'sub'), path.join(dir, 'link')]) {
      const n = lstatNumbers(p);
      expect({
        dev: n.dev,
        mode: n.mode,
        ino: n.ino,
        size: n.size,
        mtimeMs: n.mtimeMs,
        ctimeMs: n.ctimeMs,
        kind: [n.isFile(), n.isDirectory(), n.isSymbolicLink()],
      }).toEqual(kept(p));
    }
    expect(lstatNumbers(path.join(dir, 'link')).isSymbolicLink()).toBe(true);
  });

  it('throws as lstatSync does for a path that is not there', () => {
    const dir = temp('slipway-lstat-');
    expect(() => lstatNumbers(path.join(dir, 'missing'))).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});
