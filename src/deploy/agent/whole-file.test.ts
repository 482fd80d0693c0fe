/**
 * A streamed stage's small files made whole in one call (whole-file.ts): the native addon
 * (whole-file.c, compiled by the build) and the JavaScript path make the same files (bytes, mode,
 * the mtime returned as lstat gives it), neither writes through a symlink or over a file, and the
 * agent falls back to JavaScript when the addon is not to be used (SLIPWAY_NATIVE_WRITES=0).
 */
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nativeWholeFiles, writeWhole, writeWholeJs, writeWholeLater } from './whole-file.js';

// The pool's batches (writeWholeLater) are taken only with SLIPWAY_NATIVE_WRITES=pool, read as the addon loads.
vi.hoisted(() => {
  process.env.SLIPWAY_NATIVE_WRITES = 'pool';
});
afterAll(() => {
  delete process.env.SLIPWAY_NATIVE_WRITES;
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-whole-file-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ways = [
  ['native', writeWhole],
  ['JavaScript', writeWholeJs],
] as const;

describe('writeWhole', () => {
  it('is the native addon where the build compiled it', () => {
    // The build here has a C compiler and Node's headers (scripts/build-native-writes.mjs).
    expect(nativeWholeFiles()).toBe(true);
  });

  for (const [way, write] of ways) {
    it(`${way}: creates the file with its bytes and mode, returns its mtime`, () => {
      for (const [name, mode, size] of [
        ['a.txt', 0o644, 100],
        ['b.sh', 0o755, 4000],
        // Without the owner's write bit: written all the same (created with it), then given its mode.
        ['c.ro', 0o444, 1],
        ['d.empty', 0o600, 0],
      ] as const) {
        const data = Buffer.alloc(size, name.charCodeAt(0));
        const file = path.join(dir, name);
        const mtime = write(file, data, 0, mode);
        const st = lstatSync(file);
        expect(st.isFile()).toBe(true);
        expect(readFileSync(file).equals(data)).toBe(true);
        expect(st.mode & 0o777).toBe(mode);
        expect(mtime).toBe(st.mtimeMs);
      }
    });

    it(`${way}: writes at an offset`, () => {
      const file = path.join(dir, 'at.bin');
      write(file, Buffer.from('tail'), 3, 0o644);
      expect(readFileSync(file).equals(Buffer.from('\0\0\0tail'))).toBe(true);
    });

    it(`${way}: never writes over a file or through a symlink`, () => {
      const file = path.join(dir, 'there');
      writeFileSync(file, 'kept');
      expect(() => write(file, Buffer.from('new'), 0, 0o644)).toThrow(
        expect.objectContaining({ code: 'EEXIST' }),
      );
      expect(readFileSync(file, 'utf8')).toBe('kept');
      const outside = path.join(dir, 'outside');
      const link = path.join(dir, 'link');
      symlinkSync(outside, link);
      expect(() => write(link, Buffer.from('escape'), 0, 0o644)).toThrow(
        expect.objectContaining({ code: 'EEXIST' }),
      );
      expect(readlinkSync(link)).toBe(outside);
      expect(() => lstatSync(outside)).toThrow();
      expect(() => write(path.join(dir, 'no', 'such'), Buffer.from('x'), 0, 0o644)).toThrow(
        expect.objectContaining({ code: 'ENOENT' }),
      );
    });
  }

  it('makes files on the pool in batches once the addon was checked, failing each alone', async () => {
    writeWhole(path.join(dir, 'first'), Buffer.from('checked'), 0, 0o644);
    const names = Array.from({ length: 100 }, (_, k) => `p${k}`);
    // One of them exists already: only its write fails.
    writeFileSync(path.join(dir, 'p7'), 'kept');
    const done = names.map((name, k) =>
      writeWholeLater(path.join(dir, name), Buffer.alloc(k + 1, k), 0, k % 2 ? 0o755 : 0o640),
    );
    expect(done.every((p) => p instanceof Promise)).toBe(true);
    const settled = await Promise.allSettled(done as Promise<number>[]);
    for (const [k, name] of names.entries()) {
      const s = settled[k]!;
      if (k === 7) {
        expect(s.status === 'rejected' && (s.reason as NodeJS.ErrnoException).code).toBe('EEXIST');
        expect(readFileSync(path.join(dir, name), 'utf8')).toBe('kept');
        continue;
      }
      const st = lstatSync(path.join(dir, name));
      expect(s.status === 'fulfilled' && s.value).toBe(st.mtimeMs);
      expect(st.mode & 0o777).toBe(k % 2 ? 0o755 : 0o640);
      expect(readFileSync(path.join(dir, name)).equals(Buffer.alloc(k + 1, k))).toBe(true);
    }
  });

  it('keeps to JavaScript with SLIPWAY_NATIVE_WRITES=0, making the same files', () => {
    // The build's copy of this module (as the agent runs it), in a process of its own.
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const module = path.join(root, 'dist/src/deploy/agent/whole-file.js');
    const script = `
      const { nativeWholeFiles, writeWhole } = await import(${JSON.stringify(module)});
      const file = ${JSON.stringify(path.join(dir, 'js.txt'))};
      const mtime = writeWhole(file, Buffer.from('same bytes'), 0, 0o640);
      console.log(JSON.stringify({ native: nativeWholeFiles(), mtime }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, SLIPWAY_NATIVE_WRITES: '0' },
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { native: boolean; mtime: number };
    expect(r.native).toBe(false);
    const st = lstatSync(path.join(dir, 'js.txt'));
    expect(r.mtime).toBe(st.mtimeMs);
    expect(st.mode & 0o777).toBe(0o640);
    expect(readFileSync(path.join(dir, 'js.txt'), 'utf8')).toBe('same bytes');
  });
});
