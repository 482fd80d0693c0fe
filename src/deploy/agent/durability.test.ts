/**
 * The flush of a whole filesystem (durability.ts syncFilesystem): syncfs(2) through the native
 * addon on libuv's pool (native-addon.ts, whole-file.c) where it loads, else through coreutils'
 * `sync -f` (SLIPWAY_NATIVE_WRITES=0, or no addon): the same answers either way.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncFilesystem } from './durability.js';
import { nativeAddon } from './native-addon.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-durability-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('syncFilesystem', () => {
  it('flushes through the native addon on Linux: true for a folder, false for a path that is not there', async () => {
    // The build here has a C compiler and Node's headers (scripts/build-native-writes.mjs).
    const syncFs = nativeAddon()?.syncFs;
    expect(typeof syncFs).toBe(process.platform === 'linux' ? 'function' : 'undefined');
    expect(await syncFilesystem(dir)).toBe(true);
    expect(await syncFilesystem(path.join(dir, 'missing', 'x'))).toBe(false);
    if (syncFs) {
      expect(await syncFs(dir)).toBe(0);
      // A negative errno, not a rejection: ENOENT.
      expect(await syncFs(path.join(dir, 'missing'))).toBe(-os.constants.errno.ENOENT);
      expect(() => (syncFs as unknown as (p: unknown) => unknown)(42)).toThrow(TypeError);
    }
  });

  it('answers the same through coreutils with SLIPWAY_NATIVE_WRITES=0', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const dist = (m: string) => JSON.stringify(path.join(root, 'dist/src/deploy/agent', m));
    const script = `
      const { syncFilesystem } = await import(${dist('durability.js')});
      const { nativeAddon } = await import(${dist('native-addon.js')});
      const dir = ${JSON.stringify(dir)};
      console.log(JSON.stringify({
        native: nativeAddon() !== undefined,
        there: await syncFilesystem(dir),
        missing: await syncFilesystem(dir + '/missing/x'),
      }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, SLIPWAY_NATIVE_WRITES: '0' },
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({
      native: false,
      there: true,
      missing: false,
    });
  });
});
