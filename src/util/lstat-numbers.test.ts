import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { fstatNumbers, lstatNumbers } from './lstat-numbers.js';

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

describe('fstatNumbers', () => {
  // First: the check made at the first call must not be spoilt by a descriptor that fails.
  it('throws as fstatSync does for a descriptor that is not open', () => {
    const dir = temp('slipway-fstat-');
    const fd = openSync(path.join(dir, 'b.bin'), 'w');
    closeSync(fd);
    expect(() => fstatNumbers(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it("gives fstatSync's numbers for an open file, as it changes", () => {
    const dir = temp('slipway-fstat-');
    const fd = openSync(path.join(dir, 'a.bin'), 'w+', 0o640);
    try {
      for (const bytes of [0, 4000, 10]) {
        if (bytes) writeSync(fd, Buffer.alloc(bytes, 7), 0, bytes, 0);
        const n = fstatNumbers(fd);
        const s = fstatSync(fd);
        expect([n.dev, n.mode, n.ino, n.size, n.mtimeMs, n.ctimeMs, n.isFile()]).toEqual([
          s.dev,
          s.mode,
          s.ino,
          s.size,
          s.mtimeMs,
          s.ctimeMs,
          true,
        ]);
      }
      expect(fstatNumbers(fd).size).toBe(4000);
    } finally {
      closeSync(fd);
    }
  });
});
