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
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeWholeFiles, writeWhole, writeWholeJs } from './whole-file.js';

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

  it('keeps to JavaScript with SLIPWAY_NATIVE_WRITES=0: a streamed stage makes the same files', () => {
    // The build's StreamFiles (as the agent runs it), one process with the addon and one without,
    // each staging the same 60 one-chunk files of four modes into a folder of its own.
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const dist = (m: string) => JSON.stringify(path.join(root, 'dist/src/deploy/agent', m));
    const stage = (name: string, env: string | undefined) => {
      const script = `
        const { createHash } = await import('node:crypto');
        const { mkdirSync } = await import('node:fs');
        const { StreamFiles } = await import(${dist('stream-files.js')});
        const { nativeWholeFiles } = await import(${dist('whole-file.js')});
        const dir = ${JSON.stringify(path.join(dir, name))};
        mkdirSync(dir);
        const files = new StreamFiles(dir, '.stream-test');
        files.folder({ type: 'dir', path: 'sub', mode: 0o755 });
        const chunks = [];
        for (let k = 0; k < 60; k++) {
          const data = Buffer.alloc(100 + k * 61, k + 1);
          const id = createHash('sha256').update(data).digest('hex');
          chunks.push([id, data]);
          const mode = [0o644, 0o755, 0o600, 0o444][k % 4];
          files.file({ type: 'file', path: 'sub/f' + k, mode, size: data.length, chunks: [[id, data.length]] });
        }
        for (const [id, data] of chunks) await files.place(id, data);
        console.log(JSON.stringify({ native: nativeWholeFiles(), done: !files.incomplete(), mtimes: files.mtimes }));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, SLIPWAY_NATIVE_WRITES: env },
        encoding: 'utf8',
      });
      return JSON.parse(out.trim().split('\n').at(-1)!) as {
        native: boolean;
        done: boolean;
        mtimes: number[];
      };
    };
    const js = stage('js', '0');
    const native = stage('native', undefined);
    expect([js.native, native.native]).toEqual([false, true]);
    expect(js.done && native.done).toBe(true);
    for (let k = 0; k < 60; k++) {
      const [a, b] = ['js', 'native'].map((n) => path.join(dir, n, 'sub', `f${k}`));
      const [sa, sb] = [lstatSync(a!), lstatSync(b!)];
      expect(readFileSync(a!).equals(readFileSync(b!))).toBe(true);
      expect(sa.mode).toBe(sb.mode);
      expect(sa.mode & 0o777).toBe([0o644, 0o755, 0o600, 0o444][k % 4]);
      // Each mtime noted as written: the file's own.
      expect(js.mtimes[k]).toBe(sa.mtimeMs);
      expect(native.mtimes[k]).toBe(sb.mtimeMs);
    }
  });
});
