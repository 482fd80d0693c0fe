/**
 * The body of a streamed stage (POST /v1/stage-stream, stage-stream.ts): NDJSON in gzip members.
 * Its first line is the host's own (the protocol, the manifest's version and chunking, the
 * sources to fetch from), then one line per manifest entry as the walk finishes it (artifact.ts
 * onChunked), the same bytes for every host, and last the release id the entries must hash to,
 * with their count. gunzip reads concatenated members as one stream (stage-body.ts), so the
 * entries are compressed once, batch by batch, and the members are shared by every host's
 * request, whenever it starts.
 *
 * A feed with parts (for agents that announce `streamParts`, agent/stream-parts.ts) also sends a
 * large file's chunk list while the walk still chunks it: part lines (path, mode, the offset of
 * their first chunk, the chunks since the last part), each taking up where the last ended, and
 * then the file's entry as ever. The agent fetches and writes the parts' chunks meanwhile; the
 * entry must list them first, or the stream is refused.
 */
import { gzipSync } from 'node:zlib';
import { trace } from '../util/trace.js';
import type { EntriesDigest, ManifestEntry } from './manifest.js';
import type { ChunkId, ReleaseId } from './types.js';
import { loadZstd } from './zstd.js';

/** Level 1 as the stage body's (stage-body.ts): a manifest's JSON compresses ~3x at it. */
const GZIP = { level: 1 };

/**
 * How a feed's batches are compressed: gzip members for any agent, or zstd frames for one that
 * decodes them (its twin check says `streamZstd`, first-contact.ts) when zstd loads here too. The
 * 20,000 files' entries (3.1 MB of JSON in batches of 256 KB): gzip level 1 26 ms on the walk's
 * thread for 990 KB, zstd level 1 7 ms for 886 KB; the agent's gunzip stream cost its main
 * thread ~25 ms (a round through the stream and the thread pool per 16 KB), zstd's synchronous
 * decoder ~5 ms.
 */
export type FeedCodec = 'gzip' | 'zstd';

/** zstd's level for the feed: its fastest with a ratio gzip's level 1 has (level -1: 1.6 MB). */
const ZSTD_LEVEL = 1;

/** `text` compressed as one gzip member or one zstd frame. */
export function encodeText(text: string, codec: FeedCodec): Buffer {
  if (codec === 'gzip') return gzipSync(text, GZIP);
  const z = loadZstd();
  if (!z) throw new Error('zstd cannot be loaded here');
  // A copy: the codec's result is a view of its scratch.
  return Buffer.from(z.compress(Buffer.from(text), ZSTD_LEVEL));
}

/** The codec a host's feed uses: zstd where the agent takes it and it loads here. */
export function feedCodec(agentTakesZstd: boolean): FeedCodec {
  return agentTakesZstd && loadZstd() ? 'zstd' : 'gzip';
}

/**
 * Entry lines are compressed and handed on in batches of about this many characters, or sooner
 * when the walk yields to the event loop: a batch per file would be 20,000 gzip members.
 */
const BATCH_CHARS = 256 * 1024;

/**
 * A file's parts after its first go out once their chunks hold this many bytes (the agent's
 * batch, agent/stream-stage.ts): the walk's list grows by ~0.6 MB a block, and a part per block
 * was ~350 gzip members for a 200 MB file, each compressed alone on the walk's thread.
 */
const PART_BYTES = 4 * 1024 * 1024;

/** The first line of a streamed stage's body: what the host needs before the entries. */
export interface StreamHeader {
  protocol: number;
  version: string;
  chunking: { min: number; avg: number; max: number };
  sources: { url: string; token: string }[];
  /** The artifact's size as listed: how much the agent may expect to write (its early flush). */
  bytes?: number;
}

/** Where a feed's bytes go: one host's request. */
export interface FeedSink {
  part(gz: Buffer): void;
  end(trailer: Buffer): void;
  fail(reason: string): void;
}

/** One line of JSON, compressed alone with `codec`. */
export function encodeLine(value: unknown, codec: FeedCodec): Buffer {
  return encodeText(`${JSON.stringify(value)}\n`, codec);
}

/** The entry lines of one streamed manifest, for every host that streams it. */
export class StreamFeed {
  /** Gzip members of the entry lines so far, in order. */
  readonly #parts: Buffer[] = [];
  readonly #sinks = new Set<FeedSink>();
  /** Entry lines not compressed yet. */
  #text = '';
  /** Entries made into lines. */
  #sent = 0;
  #flushing = false;
  #end: { trailer: Buffer } | { failed: string } | undefined;
  /** The file sent in parts so far (the entry after the `sent` ones): its chunks sent, its bytes. */
  #part = { count: 0, offset: 0 };

  /**
   * `parts`: whether part lines go out (addPart), for agents that take them. `digest`: hears each
   * entry's JSON, for the release id (manifest.ts EntriesDigest).
   */
  constructor(
    readonly parts = false,
    readonly digest?: EntriesDigest,
    readonly codec: FeedCodec = 'gzip',
  ) {}

  /** Entries encoded so far. */
  get entries(): number {
    return this.#sent;
  }

  /** Takes entries[sent .. ready), the walk's final ones. */
  add(entries: readonly ManifestEntry[], ready: number): void {
    if (this.#end) return;
    // The next file is a new one for parts: its entry, if sent in parts, now follows them.
    if (this.#sent < ready && this.#part.count) this.#part = { count: 0, offset: 0 };
    for (; this.#sent < ready; this.#sent++) {
      const json = JSON.stringify(entries[this.#sent]);
      this.digest?.add(json);
      this.#text += `${json}\n`;
    }
    this.#later();
  }

  /** Compresses and sends the lines so far: a batch at once, less at the walk's next pause. */
  #later(): void {
    if (this.#text.length >= BATCH_CHARS) this.#flush();
    else if (this.#text && !this.#flushing) {
      // At the walk's next pause (it yields to the event loop now and then), whatever came.
      this.#flushing = true;
      setImmediate(() => this.#flush());
    }
  }

  /**
   * The file at entries[sent] (the next entry, not final yet) is being chunked: the chunks of its
   * list that came since its last part go out as a part line (see above).
   */
  addPart(e: { path: string; mode: number }, chunks: readonly [ChunkId, number][]): void {
    if (this.#end || !this.parts || chunks.length <= this.#part.count) return;
    if (this.#part.count > 0) {
      // Later parts wait for a batch's worth (the first goes at once: the agent starts with it).
      let bytes = 0;
      for (let k = this.#part.count; k < chunks.length && bytes < PART_BYTES; k++) bytes += chunks[k]![1];
      if (bytes < PART_BYTES) return;
    }
    const fresh = chunks.slice(this.#part.count);
    this.#text += `${JSON.stringify({ part: e.path, mode: e.mode, offset: this.#part.offset, chunks: fresh })}\n`;
    for (const c of fresh) this.#part.offset += c[1];
    this.#part.count = chunks.length;
    this.#later();
  }

  /** The last line: the release id the entries make, and how many there are. */
  end(release: ReleaseId): void {
    if (this.#end) return;
    this.#flush();
    trace(`stream feed: ${this.#sent} entries in ${this.#parts.length} ${this.codec} parts`);
    const trailer = encodeLine({ release, entries: this.#sent }, this.codec);
    this.#end = { trailer };
    for (const s of this.#sinks) s.end(trailer);
    this.#sinks.clear();
  }

  /** Stops every host's stream: the walk failed (the agents then drop what they made). */
  fail(reason: string): void {
    this.#text = '';
    this.#end = { failed: reason };
    for (const s of this.#sinks) s.fail(reason);
    this.#sinks.clear();
  }

  /** Sends `sink` everything so far and all that follows; returns how to stop that. */
  attach(sink: FeedSink): () => void {
    for (const p of this.#parts) sink.part(p);
    const end = this.#end;
    if (end && 'failed' in end) sink.fail(end.failed);
    else if (end) sink.end(end.trailer);
    else this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  #flush(): void {
    this.#flushing = false;
    if (!this.#text || this.#end) return;
    // On this thread: a batch is what the walk chunked in a few milliseconds (tens of KB, ~0.2
    // ms at level 1), where the thread pool's round trips cost more than the compression
    // (measured, 3 MB in 256 KB pieces: 32 ms of this thread's time async, 13 ms here).
    const gz = encodeText(this.#text, this.codec);
    this.#text = '';
    this.#parts.push(gz);
    for (const s of this.#sinks) s.part(gz);
  }
}
