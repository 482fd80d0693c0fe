/**
 * The level of a bulk transfer steps from what is the bottleneck (adaptive-level.ts): the
 * decisions from given observations, then a real origin behind a throttled link and on loopback,
 * where which levels it used (and the bytes) are asserted, never how long anything took.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdaptiveLevel, parseCompression, parseLoad, TransferLevels } from './adaptive-level.js';
import { fetchBody } from './agent/requests.js';
import { readArtifact } from './artifact.js';
import { fetchChunks } from './chunk-client.js';
import type { ChunkingParams } from './fastcdc.js';
import { type Origin, startOrigin } from './origin.js';
import { ReceiverLoad } from './receiver-load.js';
import type { ChunkId } from './types.js';
import { loadZstd } from './zstd.js';

/** The level after each window, each `[origin load, share of the window spent in socket waits]`. */
function steps(a: AdaptiveLevel, ...windows: [number, number][]): unknown[] {
  return windows.map(([origin, socket]) => {
    a.decide({ origin, socket });
    return a.level;
  });
}

describe('adaptive level', () => {
  it('before the receiver has reported its load, only steps down for its own bottleneck', () => {
    const a = new AdaptiveLevel();
    expect(a.level).toBe(1);
    // An idle origin, a full socket: nothing said about the receiver, so no step up.
    expect(steps(a, [0.1, 0], [0.1, 0.9], [0.9, 0.5])).toEqual([1, 1, 1]);
    // A busy origin whose socket drains: the compressor is the bottleneck whatever the receiver.
    expect(steps(a, [0.9, 0.1], [0.9, 0.1])).toEqual([-5, 'none']);
  });

  it('steps down while the origin is busy and its socket is not full (the compressor is the bottleneck)', () => {
    const a = new AdaptiveLevel();
    a.hear(0.6);
    expect(steps(a, [0.9, 0.1], [0.9, 0.1], [0.9, 0.1])).toEqual([-5, 'none', 'none']);
  });

  it('steps up when the receiver is idle and the origin idle or its socket full (a slow link)', () => {
    const a = new AdaptiveLevel();
    a.hear(0.1);
    expect(steps(a, [0.1, 0], [0.1, 0])).toEqual([3, 3]);
    const b = new AdaptiveLevel();
    b.hear(0.1);
    // The origin's bursts of compressing do not count while its socket is full.
    expect(steps(b, [0.95, 0.9], [0.95, 0.5], [0.6, 0.05])).toEqual([3, 3, 3]);
  });

  it("does not step up for an idle receiver while the busy origin's socket is merely full (a stalled receiver)", () => {
    const a = new AdaptiveLevel();
    a.hear(0.9);
    expect(steps(a, [1, 0.1], [1, 0.1])).toEqual([-5, 'none']);
    // The receiver waits for its writes (it reports itself idle) and its socket fills: held.
    a.hear(0.3);
    a.hear(0.3);
    expect(steps(a, [1, 0.3], [1, 0.7], [0.8, 0.5])).toEqual(['none', 'none', 'none']);
    // Waiting on the socket nearly all the time is a slow link: up, busy origin or not.
    expect(steps(a, [1, 0.9])).toEqual([-5]);
    // An idle origin with an idle receiver: up, whatever the socket.
    expect(steps(a, [0.2, 0.3])).toEqual([1]);
  });

  it('does not take saturated socket waits for a slow link while the busy origin answers other transfers', () => {
    const crowded = (transfers: number) => {
      const a = new AdaptiveLevel(0);
      a.hear(0.3);
      a.hear(0.3);
      a.decide({ origin: 1, socket: 1.2, transfers });
      return a.level;
    };
    // Alone, waiting on its socket all the time: a slow link, up.
    expect(crowded(1)).toBe(-5);
    // Six transfers on one busy thread: the waits are turns on that thread, held raw.
    expect(crowded(6)).toBe('none');
    // Several transfers with an idle origin: the link is the bottleneck, up.
    const a = new AdaptiveLevel(0);
    a.hear(0.3);
    a.decide({ origin: 0.3, socket: 1.2, transfers: 6 });
    expect(a.level).toBe(-5);
  });

  it('counts the transfers with a request being answered, each once', () => {
    const levels = new TransferLevels('auto', () => 1);
    const begin = (id: string) =>
      levels.forRequest(true, true, ['zstd', 'adapt'], { 'x-slipway-transfer': id })!;
    const a = begin('aaaaaaaa');
    const a2 = begin('aaaaaaaa');
    const b = begin('bbbbbbbb');
    const seen = [levels.answering];
    b.end();
    seen.push(levels.answering);
    a.end();
    seen.push(levels.answering);
    a2.end();
    seen.push(levels.answering);
    expect(seen).toEqual([2, 1, 1, 0]);
  });

  it('steps down for a busy receiver though its socket is full (the loopback trap)', () => {
    const a = new AdaptiveLevel();
    a.hear(0.95);
    expect(steps(a, [0.1, 0.6], [0.1, 0.6], [0.1, 0.6])).toEqual([-5, 'none', 'none']);
    // Reports are averaged with the one before: (0.95 + 0.35) / 2 is between idle and busy, held.
    a.hear(0.35);
    expect(steps(a, [0.1, 0.6])).toEqual(['none']);
    a.hear(0.2);
    expect(steps(a, [0.1, 0.6])).toEqual([-5]);
    // A report out of range is not heard.
    a.hear(7);
    expect(steps(a, [0.1, 0.6])).toEqual([1]);
  });

  it('holds for a busy receiver while the requests wait on their sockets nearly all the time (a slow link)', () => {
    const a = new AdaptiveLevel();
    a.hear(0.1);
    expect(steps(a, [0.1, 1])).toEqual([3]);
    a.hear(1);
    a.hear(1);
    expect(steps(a, [0.2, 0.95], [0.2, 0.9])).toEqual([3, 3]);
  });

  it('does not take one busy moment of an idle receiver for a busy receiver', () => {
    const a = new AdaptiveLevel();
    a.hear(0.2);
    expect(steps(a, [0.1, 0.3])).toEqual([3]);
    a.hear(1);
    expect(steps(a, [0.1, 0.3])).toEqual([3]);
  });

  it("starts a transfer raw when the origin's thread was busy since the last one began", () => {
    let load = 0.2;
    const levels = new TransferLevels('auto', () => load);
    const first = (id: string) =>
      levels.forRequest(true, true, ['zstd', 'adapt'], { 'x-slipway-transfer': id })?.next();
    expect(first('aaaaaaaa')).toBe(1);
    load = 0.9;
    expect(first('bbbbbbbb')).toBe('none');
    // A transfer's later requests keep its level; pinned levels stay pinned.
    load = 0.1;
    expect(first('bbbbbbbb')).toBe('none');
    expect(new TransferLevels(3, () => 1).forRequest(true, true, ['zstd'], {})?.next()).toBe(3);
  });

  it('parses settings and load reports, refusing what is not one', () => {
    expect(parseCompression('auto')).toBe('auto');
    expect(parseCompression('none')).toBe('none');
    expect(parseCompression('-5')).toBe(-5);
    expect(parseCompression('19')).toBe(19);
    for (const bad of ['20', '-11', 'fast', '1.5', '']) expect(parseCompression(bad)).toBeUndefined();
    expect(parseLoad('0.25')).toBe(0.25);
    expect(parseLoad('1.000')).toBe(1);
    for (const bad of ['1.5', '-0.1', 'NaN', '', undefined, ['0.1']]) expect(parseLoad(bad)).toBeUndefined();
  });
});

/** Minified-source-like text (compresses about 3:1 at zstd 1), from a seed. */
function text(n: number, seed: number): Buffer {
  const words = 'const let function return import export await async value data error result'.split(' ');
  const out = Buffer.allocUnsafe(n);
  let x = seed || 1;
  let o = 0;
  while (o < n) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    o += out.write(
      `${words[x % words.length]}${(x >>> 8).toString(36).slice(0, (x >>> 28) % 5)}${x & 16 ? ' ' : ';'}`,
      o,
    );
  }
  return out;
}

/**
 * A link of `rate` bytes per second from `target` to whoever connects (requests pass as they
 * come): bytes read from the target wait in a small queue, the target paused while it is full.
 */
async function throttle(target: URL, rate: number): Promise<{ url: string; server: Server }> {
  const tickMs = 10;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const up = createConnection({ host: target.hostname, port: Number(target.port) });
    sockets.add(client).add(up);
    client.pipe(up);
    const queue: Buffer[] = [];
    let queued = 0;
    up.on('data', (d: Buffer) => {
      queue.push(d);
      queued += d.length;
      if (queued > 64 * 1024) up.pause();
    });
    const timer = setInterval(() => {
      let budget = (rate * tickMs) / 1000;
      while (budget > 0 && queue.length) {
        const d = queue[0]!;
        const n = Math.min(d.length, budget);
        client.write(d.subarray(0, n));
        budget -= n;
        queued -= n;
        if (n === d.length) queue.shift();
        else queue[0] = d.subarray(n);
      }
      if (queued <= 64 * 1024) up.resume();
      if (!queue.length && up.readableEnded) client.end();
    }, tickMs);
    const close = () => {
      clearInterval(timer);
      client.destroy();
      up.destroy();
    };
    client.on('close', close).on('error', close);
    up.on('close', () => {
      if (!queue.length) close();
    });
    up.on('error', close);
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, server };
}

describe.skipIf(!loadZstd())('adaptive compression of a bulk transfer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'slipway-adapt-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const params: ChunkingParams = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

  /** An origin of `mib` MiB of text, and a fetch of all of it through `via` in batches. */
  async function transfer(
    mib: number,
    opts: {
      via?: (o: Origin) => Promise<string>;
      batches: number;
      compression?: 'none' | number;
      load?: false;
    },
  ) {
    const data = text(mib * 1024 * 1024, 7);
    await writeFile(path.join(dir, 'app.js'), data);
    const art = await readArtifact(dir, 'v1', params);
    if (!art.ok) throw new Error('no artifact');
    const origin = await startOrigin({
      chunks: art.value.chunks,
      token: 'adapt-test-token-0123456789',
      cacheBytes: 0,
      compression: opts.compression,
    });
    try {
      const url = opts.via ? await opts.via(origin) : origin.url;
      // The origin idle when the transfer begins, as one serving a host after the walk (busy, as
      // serving on the walk's thread, it starts raw: TransferLevels).
      await new Promise((resolve) => setTimeout(resolve, 150));
      const ids = [...art.value.chunks.keys()];
      const got = new Map<ChunkId, Buffer>();
      let wire = 0;
      const load = opts.load === false ? undefined : new ReceiverLoad();
      const per = Math.ceil(ids.length / opts.batches);
      // One batch after another, as an agent's batches follow each other (fetch-missing.ts).
      for (let i = 0; i < ids.length; i += per) {
        const r = await fetchChunks({
          source: { url, token: origin.token },
          ids: ids.slice(i, i + per),
          maxChunk: params.max,
          encoding: 'br-fast',
          load,
          onChunk: (id, d, w) => {
            got.set(id, Buffer.from(d));
            wire += w;
          },
        });
        expect(r.ok).toBe(true);
      }
      const entry = art.value.manifest.entries[0]!;
      if (entry.type !== 'file') throw new Error('not a file');
      expect(Buffer.concat(entry.chunks.map(([id]) => got.get(id)!)).equals(data)).toBe(true);
      return { levels: new Map(origin.levels), wire, raw: data.length };
    } finally {
      await origin.close();
    }
  }

  it('compresses harder on a slow link', async () => {
    let proxy: Server | undefined;
    try {
      const r = await transfer(4, {
        batches: 4,
        via: async (o) => {
          const t = await throttle(new URL(o.url), 1024 * 1024);
          proxy = t.server;
          return t.url;
        },
      });
      // Level 1 until the receiver's first report (idle: it waits for the link), then 3.
      expect(r.levels.has('none')).toBe(false);
      expect(r.levels.has(-5)).toBe(false);
      expect(r.levels.get(3)?.frames).toBeGreaterThan(0);
      const sent = [...r.levels.values()].reduce((n, u) => n + u.wireBytes, 0);
      expect(sent).toBe(r.wire);
      expect(r.wire).toBeLessThan(r.raw * 0.6);
    } finally {
      proxy?.close();
    }
  });

  it('compresses little or not at all when the link outpaces the compressor', async () => {
    const r = await transfer(32, { batches: 16 });
    // On loopback this process (sender and receiver at once) is the bottleneck: level 1 until
    // its first report, then down to raw, which carries most of the bytes.
    const none = r.levels.get('none')?.rawBytes ?? 0;
    expect(none).toBeGreaterThan(r.raw / 3);
    for (const [level, u] of r.levels) if (level !== 'none') expect(u.rawBytes).toBeLessThan(none);
    expect(r.levels.has(3)).toBe(false);
  });

  it('serves a receiver that does not report its load (an older agent) at level 1, as before', async () => {
    const r = await transfer(2, { batches: 2, load: false });
    expect(r.levels.size).toBe(0);
    expect(r.wire).toBeLessThan(r.raw * 0.6);
  });

  it("asks in a way a relay agent's schema takes (it ignores the codec name it does not know)", () => {
    const asked = fetchBody(10).safeParse({ ids: [], encoding: 'br-fast', codecs: ['zstd', 'adapt'] });
    expect(asked.success).toBe(true);
  });

  it('keeps to a pinned level', async () => {
    const raw = await transfer(2, { batches: 2, compression: 'none' });
    expect([...raw.levels.keys()]).toEqual(['none']);
    expect(raw.wire).toBeGreaterThan(raw.raw);
    const three = await transfer(2, { batches: 2, compression: 3 });
    expect([...three.levels.keys()]).toEqual([3]);
    expect(three.wire).toBeLessThan(three.raw * 0.6);
  });
});
