import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreV8Flags, setV8Flag } from '../util/v8-flags.js';
import { requireWithCodeCache } from './code-cache.js';

/**
 * Each load is a new text of the same length (its first comment counts the loads): V8 keeps what
 * it compiled in the process by source text and would otherwise answer a second load of the same
 * text from that, never looking at the cache file, where a new process (the CLI) must. V8 checks a
 * cache against the text's length only, which is why the cache is keyed by the bundle's hash.
 */
let loads = 0;
const source = () => `/*${String(++loads).padStart(6, '0')}*/'use strict';
const seen = [];
exports.add = (a, b) => a + b;
exports.greet = function greet(name) { seen.push(name); return 'hello ' + name + ' #' + seen.length; };
exports.where = __filename;
exports.resolves = require.resolve('./other.cjs');
`;
const HASH = 'ab'.repeat(32);

let root: string;
let bundle: string;
let cache: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'slipway-code-cache-'));
  bundle = path.join(root, 'bundle.cjs');
  cache = path.join(root, 'cache');
  writeFileSync(path.join(root, 'other.cjs'), 'module.exports = 1;\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Loads the bundle, runs what a command would, saves; returns how it was compiled and what it did. */
function load(o: { hash?: string; dir?: string | null } = {}) {
  const f = start(o);
  const e = f.exports as {
    add(a: number, b: number): number;
    greet(n: string): string;
    where: string;
    resolves: string;
  };
  const did = [e.add(2, 3), e.greet('a'), e.greet('b'), e.where, e.resolves];
  f.save();
  return { compiled: f.compiled, did };
}

/** The bundle, written anew (see source), loaded. */
function start(o: { hash?: string; dir?: string | null } = {}) {
  writeFileSync(bundle, source());
  return requireWithCodeCache(bundle, o.hash ?? HASH, o.dir === null ? undefined : (o.dir ?? cache));
}

/** Two starts without a cache: the second writes it. */
function warm() {
  load();
  load();
  expect(files()).toHaveLength(1);
}

const files = () => readdirSync(cache).filter((n) => n.endsWith('.v8'));
const theFile = () => path.join(cache, files()[0]!);
const expected = () => [5, 'hello a #1', 'hello b #2', bundle, path.join(root, 'other.cjs')];

describe('requireWithCodeCache', () => {
  it('compiles from source first, writes the cache at the second save, then compiles from it, with the same behaviour', () => {
    expect(load()).toEqual({ compiled: 'from-source', did: expected() });
    // The first start without a cache leaves only a mark (a CI job's fresh container never reuses it).
    expect(files()).toEqual([]);
    expect(readdirSync(cache)).toHaveLength(1);
    expect(load()).toEqual({ compiled: 'from-source', did: expected() });
    expect(readdirSync(cache)).toEqual(files());
    expect(files()).toHaveLength(1);
    expect(files()[0]).toMatch(
      new RegExp(`^bundle\\.cjs-${HASH.slice(0, 16)}-${process.version}-${process.arch}\\.v8$`),
    );
    const written = readFileSync(theFile());
    expect(load()).toEqual({ compiled: 'from-cache', did: expected() });
    // A cache that was used is not written again.
    expect(readFileSync(theFile()).equals(written)).toBe(true);
  });

  it('ignores a corrupt cache file and writes it anew', () => {
    warm();
    const file = theFile();
    const bytes = readFileSync(file);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(file, bytes);
    expect(load()).toEqual({ compiled: 'from-source', did: expected() });
    expect(load()).toEqual({ compiled: 'from-cache', did: expected() });
  });

  it('ignores a truncated or empty cache file and writes it anew', () => {
    warm();
    const file = theFile();
    const bytes = readFileSync(file);
    for (const cut of [bytes.subarray(0, bytes.length >> 1), bytes.subarray(0, 10), Buffer.alloc(0)]) {
      writeFileSync(file, cut);
      expect(load()).toEqual({ compiled: 'from-source', did: expected() });
      expect(load()).toEqual({ compiled: 'from-cache', did: expected() });
    }
  });

  it('a whole file that V8 rejects (another V8 or other flags) is compiled from source and written anew', () => {
    warm();
    const file = theFile();
    const bytes = readFileSync(file);
    // Our header (a 19-byte mark, the payload's SHA-256), then V8's, whose bytes 12-16 stamp its
    // flags: the stamp of other flags, with a checksum that matches, is a whole but stale file.
    const payload = Buffer.from(bytes.subarray(51));
    payload.writeUInt32LE(payload.readUInt32LE(12) ^ 0xffff, 12);
    writeFileSync(
      file,
      Buffer.concat([bytes.subarray(0, 19), createHash('sha256').update(payload).digest(), payload]),
    );
    expect(load()).toEqual({ compiled: 'from-source', did: expected() });
    expect(load()).toEqual({ compiled: 'from-cache', did: expected() });
  });

  it('never uses a cache file others may write', () => {
    warm();
    chmodSync(theFile(), 0o666);
    expect(load()).toEqual({ compiled: 'from-source', did: expected() });
  });

  it('keys the cache by the bundle hash, and a new build removes the old build cache', () => {
    warm();
    const other = 'cd'.repeat(32);
    expect(load({ hash: other })).toEqual({ compiled: 'from-source', did: expected() });
    expect(load({ hash: other })).toEqual({ compiled: 'from-source', did: expected() });
    expect(files()).toEqual([`bundle.cjs-${other.slice(0, 16)}-${process.version}-${process.arch}.v8`]);
    expect(load({ hash: other }).compiled).toBe('from-cache');
  });

  it('without a folder, compiles from source and writes nothing', () => {
    expect(load({ dir: null })).toEqual({ compiled: 'from-source', did: expected() });
    expect(load({ dir: null }).compiled).toBe('from-source');
    expect(readdirSync(root)).not.toContain('cache');
  });

  it('a run not worth caching leaves only the mark; the next one that is writes the cache', () => {
    for (let i = 0; i < 3; i++) {
      const f = start();
      f.save({ worth: false });
    }
    expect(files()).toEqual([]);
    expect(load()).toEqual({ compiled: 'from-source', did: expected() });
    expect(files()).toHaveLength(1);
    expect(load().compiled).toBe('from-cache');
  });

  it('a folder it cannot write to changes nothing', () => {
    const dir = path.join(bundle, 'under-a-file');
    expect(load({ dir })).toEqual({ compiled: 'from-source', did: expected() });
    expect(load({ dir })).toEqual({ compiled: 'from-source', did: expected() });
  });

  it('writes no cache made under V8 flags changed since start-up, unless they are put back first', () => {
    load();
    const f = start();
    setV8Flag('interrupt-budget', 4 * 67_584);
    try {
      f.save();
    } finally {
      restoreV8Flags();
    }
    expect(files()).toEqual([]);
    const g = start();
    setV8Flag('interrupt-budget', 4 * 67_584);
    g.save({ restoreFlags: restoreV8Flags });
    expect(files()).toHaveLength(1);
    expect(load().compiled).toBe('from-cache');
  });
});

describe('requireWithCodeCache with linked modules', () => {
  it("gives the file its loader's module for a linked id, and require's for any other", () => {
    const part = path.join(root, 'part.cjs');
    writeFileSync(
      part,
      `'use strict';
exports.shared = require('slipway-cold:config/diagnostic.js');
exports.other = require('./other.cjs');
exports.resolves = require.resolve('./other.cjs');
`,
    );
    const mine = { ConfigError: class {} };
    const asked: string[] = [];
    const f = requireWithCodeCache(part, HASH, cache, (id) => {
      asked.push(id);
      return id === 'slipway-cold:config/diagnostic.js' ? mine : undefined;
    });
    expect(f.exports.shared).toBe(mine);
    expect(f.exports.other).toBe(1);
    expect(f.exports.resolves).toBe(path.join(root, 'other.cjs'));
    expect(asked).toEqual(['slipway-cold:config/diagnostic.js', './other.cjs']);
  });
});
