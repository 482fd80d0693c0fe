import { existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noise } from '../../bench/lib/noise.js';
import { readArtifact } from './artifact.js';
import { chunkFile } from './chunk-file.js';
import { ChunkLedger } from './chunk-ledger.js';
import { type FastSeed, fastHasher, joinFast } from './fast-hash.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { releaseIdOf } from './manifest.js';

let root: string;
let art: string;
let ledgerDir: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-ledger-'));
  art = path.join(root, 'art');
  ledgerDir = path.join(root, 'ledger');
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** Writes files with an mtime an hour ago (outside the racy window). */
async function put(files: Record<string, string>, ageMs = 3_600_000): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  for (const [p, text] of Object.entries(files)) {
    const full = path.join(art, p);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, text);
    const t = (Date.now() - ageMs) / 1000;
    await utimes(full, t, t);
  }
}

/**
 * Waits until the filesystem's clock has ticked past every change in the artifact (a probe
 * written now gets a later ctime): changes made before then are settled for the next walk.
 */
async function afterTick(): Promise<void> {
  const probe = path.join(root, 'probe');
  let latest = 0n;
  for (const f of await readdir(art, { recursive: true })) {
    const c = statSync(path.join(art, f), { bigint: true }).ctimeNs;
    if (c > latest) latest = c;
  }
  for (;;) {
    await writeFile(probe, '');
    // A millisecond past: times compare as doubles, exact to a fraction of a microsecond only.
    if (statSync(probe, { bigint: true }).ctimeNs > latest + 1_000_000n) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function deploy(version: string, dir = ledgerDir) {
  const ledger = await ChunkLedger.open(dir, art, DEFAULT_CHUNKING);
  const r = await readArtifact(art, version, DEFAULT_CHUNKING, { ledger });
  if (!r.ok) throw new Error(r.error);
  await ledger.save({ release: releaseIdOf(r.value.manifest), manifest: r.value.manifest });
  return { ...r.value, previous: ledger.last?.release };
}

describe('chunk ledger', () => {
  it('skips reading files whose stat is unchanged and gives the same manifest', async () => {
    await put({ 'a.js': 'x'.repeat(50_000), 'b/c.css': 'body{}', 'b/d.png': 'y'.repeat(300_000) });
    await afterTick();
    const first = await deploy('v1');
    expect(first.reread).toBe(3);
    const second = await deploy('v1');
    expect(second.reread).toBe(0);
    expect(second.manifest).toEqual(first.manifest);
    expect(second.previous).toBe(releaseIdOf(first.manifest));
  });

  it('keeps at the next walk the files a first walk read as listed (their stat from the open file), and reads an edit again', async () => {
    const files: Record<string, string> = { 'link-target.txt': 'target' };
    // Folders listed once the walk reads as it lists (after START_FILES) are read with their types.
    for (let i = 0; i < 400; i++) files[`d${i % 10}/f${i}.txt`] = `file ${i} `.repeat(1 + (i % 50));
    await put(files);
    await symlink('../link-target.txt', path.join(art, 'd9/link'));
    await afterTick();
    // As a streamed stage walks: files read as they are listed once onStart answers true.
    const streamed = async (version: string) => {
      const ledger = await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING);
      const r = await readArtifact(art, version, DEFAULT_CHUNKING, {
        ledger,
        onStart: () => true,
        onChunked: () => false,
      });
      if (!r.ok) throw new Error(r.error);
      await ledger.save({ release: releaseIdOf(r.value.manifest), manifest: r.value.manifest });
      return r.value;
    };
    const first = await streamed('v1');
    expect(first.reread).toBe(401);
    const plain = await readArtifact(art, 'v1', DEFAULT_CHUNKING);
    expect(plain.ok && plain.value.manifest).toEqual(first.manifest);
    const link = first.manifest.entries.find((e) => e.path === 'd9/link');
    expect(link).toEqual({ type: 'symlink', path: 'd9/link', target: '../link-target.txt' });
    const second = await deploy('v1');
    expect(second.reread).toBe(0);
    expect(second.manifest).toEqual(first.manifest);
    await writeFile(path.join(art, 'd8/f398.txt'), 'edited');
    await afterTick();
    const third = await deploy('v1');
    expect(third.reread).toBe(1);
  });

  it('lists an unchanged folder from the ledger, and reads again one whose entries changed', async () => {
    await put({
      'a.js': 'a',
      'lib/b.js': 'b',
      'lib/c.js': 'c',
      'lib/deep/d.js': 'd',
      'lib/z.js': 'z',
      'empty/x': 'x',
    });
    await rm(path.join(art, 'empty/x'));
    await afterTick();
    await deploy('v1');
    const listed = async (rel: string) =>
      (await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING)).listing(rel, statSync(path.join(art, rel)));
    expect(await listed('lib')).toEqual(['lib/b.js', 'lib/c.js', 'lib/deep', 'lib/z.js']);
    expect(await listed('')).toBeUndefined(); // the root has no record: always read
    expect(await listed('lib/deep')).toEqual(['lib/deep/d.js']);
    expect(await listed('empty')).toEqual([]);
    // A file added, one removed, one renamed: each moves its folder's times.
    await writeFile(path.join(art, 'lib/deep/e.js'), 'e');
    await rm(path.join(art, 'lib/c.js'));
    await put({ 'empty/y': 'y' });
    await afterTick();
    expect(await listed('lib')).toBeUndefined();
    expect(await listed('lib/deep')).toBeUndefined();
    expect(await listed('empty')).toBeUndefined();
    const second = await deploy('v2');
    const fresh = await readArtifact(art, 'v2');
    expect(fresh.ok && fresh.value.manifest).toEqual(second.manifest);
    expect(second.manifest.entries.map((e) => e.path)).toEqual([
      'a.js',
      'empty',
      'empty/y',
      'lib',
      'lib/b.js',
      'lib/deep',
      'lib/deep/d.js',
      'lib/deep/e.js',
      'lib/z.js',
    ]);
    // Recorded again: listed from the ledger at the next walk, which finds the same tree.
    expect(await listed('lib/deep')).toEqual(['lib/deep/d.js', 'lib/deep/e.js']);
    const third = await deploy('v2');
    expect(third.manifest).toEqual(second.manifest);
    expect(third.reread).toBe(0);
  });

  it('reads again a folder changed after the stamp of the walk that recorded it', async () => {
    await put({ 'lib/a.js': 'a' });
    await afterTick();
    // A file added right after the walk's stamp, before the folder's lstat: its times at or past
    // the stamp, so another entry added within that tick could leave them as recorded.
    const ledger = await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING);
    const begin = ledger.begin.bind(ledger);
    ledger.begin = () => {
      begin();
      writeFileSync(path.join(art, 'lib/b.js'), 'b');
    };
    const r = await readArtifact(art, 'v1', DEFAULT_CHUNKING, { ledger });
    if (!r.ok) throw new Error(r.error);
    await ledger.save({ release: releaseIdOf(r.value.manifest), manifest: r.value.manifest });
    await afterTick();
    const lib = () => statSync(path.join(art, 'lib'));
    expect((await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING)).listing('lib', lib())).toBeUndefined();
    // Recorded by a walk stamped after the change: listed from the ledger from then on.
    await deploy('v2');
    expect((await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING)).listing('lib', lib())).toEqual([
      'lib/a.js',
      'lib/b.js',
    ]);
  });

  it('re-reads a same-size edit that kept its mtime (the ctime moved)', async () => {
    await put({ 'a.js': 'one', 'b.js': 'bee' });
    await afterTick();
    const first = await deploy('v1');
    await put({ 'a.js': 'two' }); // same size, mtime set back to an hour ago
    await afterTick();
    const second = await deploy('v2');
    expect(second.reread).toBe(1);
    expect(second.manifest.entries).not.toEqual(first.manifest.entries);
    const fresh = await readArtifact(art, 'v2');
    expect(fresh.ok && fresh.value.manifest).toEqual(second.manifest);
  });

  it('trusts a file changed a moment before the walk once its filesystem ticked past it', async () => {
    // Written just now, with an mtime a second ahead (as a copy keeping times may leave it): the
    // filesystem's stamp is what judges it, by the ctime no one can set.
    await put({ 'new.js': 'just written' }, -1000);
    await afterTick();
    await deploy('v1');
    const again = await deploy('v1');
    expect(again.reread).toBe(0);
  });

  it('re-reads a file changed after the stamp of the walk that recorded it (same tick: its stat may not move again)', async () => {
    await put({ 'a.js': 'one', 'b.js': 'bee' });
    await afterTick();
    // Changed right after the walk's stamp, before its lstat: a ctime at or past the stamp, so
    // a further change within that tick could leave the stat as recorded. Not to be trusted by
    // the next walk, however long after it comes.
    const ledger = await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING);
    const begin = ledger.begin.bind(ledger);
    ledger.begin = () => {
      begin();
      writeFileSync(path.join(art, 'a.js'), 'two');
    };
    const r = await readArtifact(art, 'v1', DEFAULT_CHUNKING, { ledger });
    if (!r.ok) throw new Error(r.error);
    await ledger.save({ release: releaseIdOf(r.value.manifest), manifest: r.value.manifest });
    await afterTick();
    const again = await deploy('v2');
    expect(again.reread).toBe(1);
    const fresh = await readArtifact(art, 'v2');
    expect(fresh.ok && fresh.value.manifest).toEqual(again.manifest);
    // Recorded by a walk stamped after the change: settled from then on.
    expect((await deploy('v3')).reread).toBe(0);
  });

  // The wall clock's rule, where the ledger cannot stamp the artifact's filesystem: a ledger on
  // another device (tmpfs) than the artifact.
  const otherDevice =
    existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(os.tmpdir()).dev ? '/dev/shm' : undefined;
  it.skipIf(!otherDevice)(
    'does not trust a file changed within two seconds by the wall clock (racy)',
    async () => {
      const dir = await mkdtemp(path.join(otherDevice!, 'slipway-ledger-'));
      try {
        // Its mtime set an hour back: the ctime (now) still says it just changed.
        await put({ 'new.js': 'just written' });
        await afterTick();
        await deploy('v1', dir);
        const again = await deploy('v1', dir);
        expect(again.reread).toBe(1);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('chunks a changed large file again from its old chunks, to the manifest a full pass gives', async () => {
    // Past the size read whole (4 MiB): streamed, and chunked incrementally (rechunk.ts).
    const big = noise(6 * 1024 * 1024, 3);
    await put({ 'big.bin': '', 'a.js': 'one' });
    await writeFile(path.join(art, 'big.bin'), big);
    await afterTick();
    const first = await deploy('v1');
    const edited = Buffer.concat([
      noise(4096, 4),
      big.subarray(0, 3_000_000),
      noise(50_000, 5),
      big.subarray(3_000_000),
    ]);
    await writeFile(path.join(art, 'big.bin'), edited);
    await afterTick();
    const second = await deploy('v2');
    expect(second.reread).toBe(1);
    const fresh = await readArtifact(art, 'v2');
    expect(fresh.ok && fresh.value.manifest).toEqual(second.manifest);
    // An insertion and an edit moved only the chunks around them.
    const chunksOf = (m: typeof first.manifest) =>
      m.entries.flatMap((e) => (e.type === 'file' && e.path === 'big.bin' ? e.chunks.map((c) => c[0]) : []));
    const old = new Set(chunksOf(first.manifest));
    const now = chunksOf(second.manifest);
    expect(now.filter((c) => old.has(c)).length).toBeGreaterThan(now.length - 6);
  });

  it('gives an unchanged artifact the last manifest itself, with the release id of a fresh read', async () => {
    await put({ 'a.js': 'one', 'lib/b.js': 'two', 'lib/c/d.css': 'three' });
    await afterTick();
    const first = await deploy('v1');
    const ledger = await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING);
    const r = await readArtifact(art, 'v2', DEFAULT_CHUNKING, { ledger });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.reread).toBe(0);
    // The very list the ledger read (its JSON known: the release id hashes it as it was read).
    expect(r.value.manifest.entries).toBe(ledger.last?.manifest.entries);
    expect(r.value.manifest.entries).toEqual(first.manifest.entries);
    const fresh = await readArtifact(art, 'v2');
    expect(fresh.ok && releaseIdOf(fresh.value.manifest)).toBe(releaseIdOf(r.value.manifest));
    expect(r.value.chunks.size).toBe(3);
  });

  it('finds kept entries away from their old place when paths come and go', async () => {
    await put({ 'a.js': 'one', 'b/c.js': 'two', 'b/e.js': 'three', 'f.js': 'four' });
    await afterTick();
    await deploy('v1');
    await rm(path.join(art, 'a.js'));
    await put({ 'b/d.js': 'new', 'b/g/h.js': 'newer' });
    await afterTick();
    const second = await deploy('v2');
    // Only the new files were read; the rest kept their entries after the shift.
    expect(second.reread).toBe(2);
    const fresh = await readArtifact(art, 'v2');
    expect(fresh.ok && fresh.value.manifest).toEqual(second.manifest);
  });

  it('does not trust a ledger whose chunk lists were altered (their checksum)', async () => {
    await put({ 'a.js': 'one', 'b.js': 'two' });
    await afterTick();
    const first = await deploy('v1');
    const [name] = await readdir(ledgerDir).then((l) => l.filter((f) => f.endsWith('.body')));
    const file = path.join(ledgerDir, name!);
    const bytes = await readFile(file);
    const chunk = first.manifest.entries.find((e) => e.type === 'file')!;
    const id = (chunk as { chunks: [string, number][] }).chunks[0]![0];
    const at = bytes.lastIndexOf(id);
    expect(at).toBeGreaterThan(0);
    // Another valid-looking id: JSON that still parses, chunks that are not the file's.
    bytes[at] = bytes[at] === 0x30 ? 0x31 : 0x30;
    await writeFile(file, bytes);
    const again = await deploy('v1');
    expect(again.reread).toBe(2);
    expect(again.manifest).toEqual(first.manifest);
  });

  it('does not trust a ledger whose head was altered (the times that judge racy files)', async () => {
    await put({ 'a.js': 'one', 'b.js': 'two' });
    await afterTick();
    await deploy('v1');
    const [name] = await readdir(ledgerDir).then((l) => l.filter((f) => f.endsWith('.ledger')));
    const file = path.join(ledgerDir, name!);
    const text = (await readFile(file)).toString('latin1');
    // Still JSON, still the same length: a digit of the walk's wall-clock time changed.
    const at = text.indexOf('"at":') + 6;
    const altered = text.slice(0, at) + (text[at] === '1' ? '2' : '1') + text.slice(at + 1);
    await writeFile(file, Buffer.from(altered, 'latin1'));
    const again = await deploy('v1');
    expect(again.reread).toBe(2);
  });

  it('chunks everything again when the ledger is damaged', async () => {
    await put({ 'a.js': 'one', 'b.js': 'two' });
    await afterTick();
    await deploy('v1');
    for (const f of await readdir(ledgerDir)) await writeFile(path.join(ledgerDir, f), '{"format":2,');
    const again = await deploy('v1');
    expect(again.reread).toBe(2);
  });

  it('writes only the head after a deploy that changed nothing, and the body again after an edit', async () => {
    await put({ 'a.js': 'one', 'lib/b.js': 'two' });
    await afterTick();
    const first = await deploy('v1');
    const bodies = async () => (await readdir(ledgerDir)).filter((f) => f.endsWith('.body'));
    const [body] = await bodies();
    const before = statSync(path.join(ledgerDir, body!), { bigint: true });
    const second = await deploy('v2');
    expect(second.reread).toBe(0);
    expect(await bodies()).toEqual([body]);
    const after = statSync(path.join(ledgerDir, body!), { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);
    // The head moved on: the next deploy's previous release is this one's.
    const third = await deploy('v3');
    expect(third.reread).toBe(0);
    expect(third.previous).toBe(releaseIdOf(second.manifest));
    expect(third.previous).not.toBe(releaseIdOf(first.manifest));
    // An edit writes a new body, and the old one goes.
    await put({ 'a.js': 'ONE' });
    await afterTick();
    expect((await deploy('v4')).reread).toBe(1);
    const now = await bodies();
    expect(now).toHaveLength(1);
    expect(now).not.toEqual([body]);
    expect((await deploy('v5')).reread).toBe(0);
  });

  it('keeps the last ledger when a save stopped between the new body and the head', async () => {
    await put({ 'a.js': 'one', 'b.js': 'two' });
    await afterTick();
    await deploy('v1');
    // What a crash after writing the next body leaves: a body the head does not name.
    await writeFile(
      path.join(
        ledgerDir,
        `${(await readdir(ledgerDir)).find((f) => f.endsWith('.ledger'))!.slice(0, -7)}.0123456789abcdef.body`,
      ),
      'torn',
    );
    expect((await deploy('v2')).reread).toBe(0);
    await put({ 'a.js': 'ONE' });
    await afterTick();
    expect((await deploy('v3')).reread).toBe(1);
    // The stray body went with the old one.
    expect((await readdir(ledgerDir)).filter((f) => f.endsWith('.body'))).toHaveLength(1);
  });

  it('chunks everything again when the body is missing, cut short or of another ledger', async () => {
    await put({ 'a.js': 'one', 'b.js': 'two' });
    await afterTick();
    await deploy('v1');
    const body = async () =>
      path.join(ledgerDir, (await readdir(ledgerDir)).find((f) => f.endsWith('.body'))!);
    const bytes = await readFile(await body());
    await writeFile(await body(), bytes.subarray(0, bytes.length - 7));
    expect((await deploy('v2')).reread).toBe(2);
    await rm(await body());
    expect((await deploy('v3')).reread).toBe(2);
    expect((await deploy('v4')).reread).toBe(0);
  });

  it('chunks everything again after a head of another format, even one whose checksum holds', async () => {
    await put({ 'a.js': 'one', 'b.js': 'two' });
    await afterTick();
    await deploy('v1');
    const head = path.join(ledgerDir, (await readdir(ledgerDir)).find((f) => f.endsWith('.ledger'))!);
    // A head as this format writes it, but naming format 5 (the one-file ledger before it).
    const line = `${(await readFile(head, 'utf8')).split('\n')[0]!.replace('"format":7', '"format":5')}\n`;
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(line).digest('hex');
    await writeFile(head, `${line}${sha}\n`);
    expect((await deploy('v2')).reread).toBe(2);
    expect((await deploy('v3')).reread).toBe(0);
  });

  describe('fast hashes (fast-hash.ts)', () => {
    /** The ledger's head file and its JSON. */
    async function headOf(): Promise<{ file: string; head: Record<string, unknown> }> {
      const file = path.join(ledgerDir, (await readdir(ledgerDir)).find((f) => f.endsWith('.ledger'))!);
      return { file, head: JSON.parse((await readFile(file, 'utf8')).split('\n')[0]!) };
    }

    /** Rewrites the ledger as format 6 wrote it: no seed, no fast hashes after the entries' JSON. */
    async function asFormat6(): Promise<void> {
      const { createHash } = await import('node:crypto');
      const { file, head } = await headOf();
      const oldBody = file.replace(/\.ledger$/, `.${String(head.body).slice(0, 16)}.body`);
      const bytes = await readFile(oldBody);
      const body = bytes.subarray(0, bytes.length - Number(head.fastBytes));
      const sha = createHash('sha256').update(body).digest('hex');
      await rm(oldBody);
      await writeFile(file.replace(/\.ledger$/, `.${sha.slice(0, 16)}.body`), body);
      const { seed: _seed, fastBytes: _fastBytes, ...rest } = head;
      const line = `${JSON.stringify({ ...rest, format: 6, body: sha })}\n`;
      await writeFile(file, `${line}${createHash('sha256').update(line).digest('hex')}\n`);
    }

    const big = noise(6 * 1024 * 1024, 11);
    const fastOf = async (rel: string) =>
      (await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING)).previousFast(rel);

    it("keeps a large file's fast hashes and the seed across a save and an open", async () => {
      await put({ 'big.bin': '', 'a.js': 'one' });
      await writeFile(path.join(art, 'big.bin'), big);
      await afterTick();
      const first = await deploy('v1');
      const chunks = first.manifest.entries.find((e) => e.path === 'big.bin');
      const count = chunks?.type === 'file' ? chunks.chunks.length : 0;
      const fast = await fastOf('big.bin');
      expect(fast).toHaveLength(count * 16);
      // A file read whole (up to 4 MiB) is never confirmed: none kept for it.
      expect(await fastOf('a.js')).toBeUndefined();
      const { head } = await headOf();
      expect(head.format).toBe(7);
      expect(head.seed).toMatch(/^[0-9a-f]{16}$/);
      // Nothing changed: the same seed and hashes after the next save.
      expect((await deploy('v1')).reread).toBe(0);
      expect((await headOf()).head.seed).toBe(head.seed);
      expect(await fastOf('big.bin')).toEqual(fast);
      // Another ledger of the same folder has another seed, so other hashes of the same chunks.
      const other = path.join(root, 'other-ledger');
      await deploy('v1', other);
      const theirs = (await ChunkLedger.open(other, art, DEFAULT_CHUNKING)).previousFast('big.bin');
      expect(theirs).toHaveLength(count * 16);
      expect(theirs).not.toEqual(fast);
    });

    it('reads a ledger of format 6 (no fast hashes) and gives a changed file fast hashes at the next save', async () => {
      await put({ 'big.bin': '', 'a.js': 'one' });
      await writeFile(path.join(art, 'big.bin'), big);
      await afterTick();
      await deploy('v1');
      await asFormat6();
      expect(await fastOf('big.bin')).toBeUndefined();
      // Unchanged: kept as the old ledger says, nothing read.
      expect((await deploy('v1')).reread).toBe(0);
      const edited = Buffer.from(big);
      noise(1000, 12).copy(edited, 2_000_000);
      await writeFile(path.join(art, 'big.bin'), edited);
      await afterTick();
      const second = await deploy('v2');
      expect(second.reread).toBe(1);
      const fresh = await readArtifact(art, 'v2');
      expect(fresh.ok && fresh.value.manifest).toEqual(second.manifest);
      const e = second.manifest.entries.find((x) => x.path === 'big.bin');
      expect(await fastOf('big.bin')).toHaveLength(e?.type === 'file' ? e.chunks.length * 16 : -1);
      expect((await headOf()).head.format).toBe(7);
    });

    it('gives a changed file confirmed by fast hashes the manifest of a full SHA-256 pass', async () => {
      await put({ 'big.bin': '', 'a.js': 'one' });
      await writeFile(path.join(art, 'big.bin'), big);
      await afterTick();
      await deploy('v1');
      // Edits spread over the file, one of them inside a chunk's first bytes (it keeps its size
      // and place), and an insertion at the start.
      let edited = Buffer.from(big);
      for (let k = 1; k < 6; k++) noise(300, 20 + k).copy(edited, k * 1_000_000);
      edited = Buffer.concat([noise(4096, 30), edited]);
      await writeFile(path.join(art, 'big.bin'), edited);
      await afterTick();
      expect(await fastOf('big.bin')).toBeDefined();
      const second = await deploy('v2');
      const fresh = await readArtifact(art, 'v2');
      expect(fresh.ok && fresh.value.manifest).toEqual(second.manifest);
      // And the fast hashes kept are those of the new chunks, as a first chunking takes them.
      const seed = (await headOf()).head.seed as FastSeed;
      const again = await chunkFile(path.join(art, 'big.bin'), DEFAULT_CHUNKING, undefined, fastHasher(seed));
      expect(Buffer.from((await fastOf('big.bin'))!)).toEqual(Buffer.from(joinFast(again.fast!)));
    });
  });
});
