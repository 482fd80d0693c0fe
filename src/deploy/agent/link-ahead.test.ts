/**
 * Unchanged files linked ahead on libuv's pool (link-ahead.ts): only a kept file still as
 * recorded at its assembly (size, mtime), a regular file of the mode wanted, to a name not taken;
 * everything else is left to the assembly's own pass.
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LinkJob, linkAhead, linksAhead } from './link-ahead.js';

let root: string;
let kept: string;
let staging: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'slipway-link-ahead-'));
  kept = path.join(root, 'releases', 'v1');
  staging = path.join(root, 'staging', 'v2');
  mkdirSync(path.join(kept, 'd'), { recursive: true });
  mkdirSync(path.join(staging, 'd'), { recursive: true });
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** A kept file and its job, as recorded now. */
function keptFile(rel: string, text: string, mode = 0o644): LinkJob {
  const file = path.join(kept, rel);
  writeFileSync(file, text);
  chmodSync(file, mode);
  const st = statSync(file);
  return { rel, from: kept, fromRel: rel, size: st.size, mtimeMs: st.mtimeMs, mode };
}

describe.runIf(linksAhead())('linking ahead', () => {
  it('links each untouched file of the wanted mode and leaves every other one', async () => {
    const same = keptFile('d/same.txt', 'same');
    // Its content found under another path of the kept release.
    const moved = { ...keptFile('d/old-name.txt', 'moved'), rel: 'd/new-name.txt' };
    const touched = keptFile('d/touched.txt', 'touched');
    utimesSync(path.join(kept, touched.fromRel), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const grown = keptFile('d/grown.txt', 'grown');
    writeFileSync(path.join(kept, grown.fromRel), 'grown longer');
    const moded = { ...keptFile('d/moded.txt', 'moded'), mode: 0o755 };
    const gone = { ...keptFile('d/gone.txt', 'gone'), fromRel: 'd/missing.txt' };
    symlinkSync('same.txt', path.join(kept, 'd/link.txt'));
    const link = { ...same, rel: 'd/link.txt', fromRel: 'd/link.txt' };
    const taken = keptFile('d/taken.txt', 'taken');
    writeFileSync(path.join(staging, taken.rel), 'already here');

    const linked = await linkAhead(staging, [same, moved, touched, grown, moded, gone, link, taken]);

    expect([...linked.keys()].sort()).toEqual(['d/new-name.txt', 'd/same.txt']);
    expect(linked.get('d/same.txt')).toEqual([same.size, same.mtimeMs]);
    for (const j of [same, moved])
      expect(statSync(path.join(staging, j.rel)).ino).toBe(statSync(path.join(kept, j.fromRel)).ino);
    for (const j of [touched, grown, moded, gone, link])
      expect(lstatSync(path.join(staging, j.rel), { throwIfNoEntry: false })).toBeUndefined();
    expect(statSync(path.join(staging, taken.rel)).ino).not.toBe(statSync(path.join(kept, taken.rel)).ino);
  });

  it('answers with nothing linked for no jobs', async () => {
    expect((await linkAhead(staging, [])).size).toBe(0);
  });
});
