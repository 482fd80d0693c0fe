/**
 * The streamed stage of a first release (POST /v1/stage-stream, agent/stream-stage.ts): a host
 * without releases gets the manifest's entries while the walk still makes them (stream-feed.ts),
 * with the sources first and the release id last, and fetches each file's chunks as its entry
 * comes, from an origin started before the walk ends (its lookup growing as files are chunked,
 * growing-chunks.ts). Before it, a first deploy walked the whole artifact, hashed the release
 * id, sent the manifest, and only then did the agent check it, plan and fetch its first chunk.
 * An agent before this endpoint answers 404: that host is staged as before (stage.ts). Here: the
 * deployment's streams, one per host, and the feeds they share; one host's request is sent by
 * stream-send.ts.
 */
import { fewerCompiles } from '../util/hot-code-only.js';
import { roomForDeploy } from '../util/small-heap.js';
import { trace } from '../util/trace.js';
import type { StageProgress } from './agent/operations.js';
import type { ChunkingParams } from './fastcdc.js';
import { GrowingChunks } from './growing-chunks.js';
import { EntriesDigest, type ManifestEntry } from './manifest.js';
import { DEPLOY_PROTOCOL } from './protocol.js';
import { RecentBytes } from './recent-bytes.js';
import { type FeedCodec, StreamFeed, type StreamHeader } from './stream-feed.js';
import type { StreamOutcome } from './stream-send.js';
import type { ChunkId, ReleaseId } from './types.js';

/**
 * How far the walk may read small files ahead of the furthest one a streamed host has fetched
 * (ahead): three quarters of the ring (recent-bytes.ts), so that what the host fetches is still
 * there. At a quarter (4 MiB) the agent, kept close behind the walk, fetched in more and smaller
 * requests (31-71 a deploy instead of 21-60), and its CPU looked 0-10% higher.
 */
const LEAD_BYTES = 12 * 1024 * 1024;
/** ... while that host fetched within this many milliseconds (else the walk reads on). */
const LEAD_HEARD_MS = 50;

/**
 * While a first release of many small files streams, TurboFan optimizes only what ran 64 times
 * V8's budget (hot-code-only.ts fewerCompiles): next to never, in a deploy's second or two.
 */
const SMALL_FILES_COMPILE_FACTOR = 64;

/** Below this many bytes listed, an artifact is streamed whatever its files (its walk is short). */
const STREAM_ANY_BELOW = 16 * 1024 * 1024;
/** From that size on, only an artifact of at least this many files per MB listed (8 KB or less each on average). */
const STREAM_FILES_PER_MB = 128;
/** ... or, to a lone host, of at least this many (64 KB or less each on average). */
const STREAM_LONE_FILES_PER_MB = 16;

/**
 * Whether a first release of `files` files and `bytes` bytes (as listed) is worth streaming to
 * each of `hosts` hosts: its gain is the agents' work done while the walk still runs, its cost
 * the origin serving on the walk's thread meanwhile, per byte and per host. Measured
 * (scripts/deploy-ab.mjs, `first`, 2 cores): 20,000 files of 2 KB streamed cost no more than
 * staged after the walk and ended sooner. 2,000 of 25 KB (50 MB, shape `web`) first ended no
 * sooner streamed (the walk 2-3 times as long); since the origin sends such a transfer raw once it
 * sees itself busy (adaptive-level.ts), to a lone host it ends ~10-15% sooner streamed at a
 * load of 3 (a tie at 8), for about the same CPU: the agent, the bottleneck, starts ~250 ms
 * earlier. To six hosts it ended later (4 pairs, load 7: the walk, serving six streams on its
 * thread, 3-5 times as long): staged after the walk there, as before, and so are artifacts of
 * larger files (a few MB each on average; not measured). Small artifacts stream whatever their
 * files: little is at stake either way, and the agent starts sooner.
 */
export function streamPays(files: number, bytes: number, hosts = 1): boolean {
  const perMb = hosts === 1 ? STREAM_LONE_FILES_PER_MB : STREAM_FILES_PER_MB;
  return bytes < STREAM_ANY_BELOW || files * 1024 * 1024 >= perMb * bytes;
}

/**
 * From this size on, a file is sent in parts while it is chunked to an agent that takes them
 * (stream-feed.ts): the agent fetches and writes its first chunks while the walk still hashes the
 * rest. As PARALLEL_MIN (large-chunks.ts): the size from which the walk of a file is long enough to
 * be worth a second thread.
 */
const STREAM_PARTS_MIN = 64 * 1024 * 1024;

/**
 * Whether a first release is worth streaming to an agent that takes parts: as streamPays, or
 * when it has a file of STREAM_PARTS_MIN or more (`largest`), whose walk the transfer overlaps.
 */
export function streamPaysInParts(files: number, bytes: number, largest: number, hosts = 1): boolean {
  return streamPays(files, bytes, hosts) || largest >= STREAM_PARTS_MIN;
}

/** A host's streamed stage under way: when it began, its outcome, and who hears its progress. */
export interface StreamedTarget {
  startedAt: number;
  outcome: Promise<StreamOutcome>;
  /**
   * Resolved once the request's connection is made, or its outcome known: until then the walk
   * yields after every file (deploy.ts hurry; first-contact.ts waits for this). Yielding every
   * 4 ms instead, the connection took two of its slices: the agent, idle until its stream's
   * header, had it 11-15 ms after the deployer began it.
   */
  connected: Promise<void>;
  /** Sets who hears its progress (stage.ts, once the deployment is announced). */
  listen(onProgress: (p: StageProgress) => void): void;
}

/** What a streamed stage asks of a host's agent client (agent-client.ts). */
export interface StreamClient {
  stageStream(o: {
    header: StreamHeader;
    feed: StreamFeed;
    onProgress: (p: StageProgress) => void;
    onConnected?: () => void;
  }): Promise<StreamOutcome>;
}

/**
 * The streamed stages of one deployment: the walk's entries (artifact.ts onChunked) go to the
 * origin's lookup and the feed once the first host streams, the release id once hashed.
 */
export class StreamedStages {
  readonly lookup: GrowingChunks;
  /** The bytes of the small files the walk read last, for the origin (recent-bytes.ts). */
  readonly #recent = new RecentBytes();
  /** The feeds, made when a host first needs one: by whether they carry part lines, and their codec. */
  readonly #feeds = new Map<string, StreamFeed>();
  readonly started = new Map<string, StreamedTarget>();
  #entries: readonly ManifestEntry[] = [];
  #ready = 0;
  /** The large file being chunked (onChunking): where its entry stands, its chunks so far. */
  #growing: { at: number; chunks: readonly [ChunkId, number][] } | undefined;
  #release: ReleaseId | undefined;
  #failed = false;
  /** Set once a first release streams (hot-code-only.ts fewerCompiles), until done(). */
  #fewerCompiles: (() => void) | undefined;

  constructor(
    prefix: string,
    readonly version: string,
    readonly chunking: ChunkingParams,
    /** The deployment's hosts (streamPays: an artifact of mid-sized files streams to a lone one only). */
    readonly hosts = 1,
  ) {
    this.lookup = new GrowingChunks(prefix, this.#recent);
  }

  /** Where the walk keeps the small files it reads (artifact.ts keep): once a host streams. */
  keep(): RecentBytes | undefined {
    return this.active ? this.#recent : undefined;
  }

  /**
   * Whether the walk reads small files so far ahead of what the hosts streamed fetch (the
   * fastest of them) that reading on now would only lap the ring, whose chunks the origin then
   * reads again from their files, and take a core from an agent on the same machine: on the
   * bench's 20,000 files the agent lagged the walk by 16 MB and more, and ran alone on one core
   * for 300-500 ms after it. Not while no host has fetched for a while (a slow or stuck one),
   * nor while a host of the deployment is not streamed (staged once the walk ends).
   */
  ahead(): boolean {
    // A host not streamed is staged once the walk ends: no waiting on the others then.
    if (!this.active || this.started.size < this.hosts) return false;
    const lead = this.#recent.lead(LEAD_HEARD_MS);
    if (lead === undefined || lead <= LEAD_BYTES) return false;
    this.#waits++;
    return true;
  }

  /** Times ahead() answered true (for traces). */
  #waits = 0;

  /** Hosts that may stream, claimed (claim) before their stream starts. */
  #claimed = 0;

  /**
   * Claims a stream for a host: at most `limit` (the environment's stageParallelism) in all, as
   * many as stage at once, and none when the artifact as listed is not worth streaming
   * (streamPays); the others are staged as before, after the walk.
   */
  claim(limit: number, parts = false): boolean {
    if (this.#claimed >= limit || !this.pays(parts)) return false;
    this.#claimed++;
    return true;
  }

  /** The files listed so far: how many, their bytes and the largest's (sizes from the listing). */
  #listedFiles(): { files: number; bytes: number; largest: number } {
    let files = 0;
    let bytes = 0;
    let largest = 0;
    for (const e of this.#entries)
      if (e.type === 'file') {
        files++;
        bytes += e.size;
        if (e.size > largest) largest = e.size;
      }
    return { files, bytes, largest };
  }

  /** Whether the files listed so far are small ones (STREAM_FILES_PER_MB or more per MB listed). */
  #smallFiles(): boolean {
    const { files, bytes } = this.#listedFiles();
    return files * 1024 * 1024 >= STREAM_FILES_PER_MB * bytes;
  }

  /**
   * Whether the artifact, as listed so far (sizes from the listing), is worth streaming to a
   * host, one that takes parts or not (streamPaysInParts, streamPays).
   */
  pays(parts: boolean): boolean {
    const { files, bytes, largest } = this.#listedFiles();
    return parts
      ? streamPaysInParts(files, bytes, largest, this.hosts)
      : streamPays(files, bytes, this.hosts);
  }

  /**
   * Whether the artifact is worth streaming already from part of its listing (artifact.ts
   * onStart): only by its files' density, with a margin of twice streamPays' (the listing's
   * first files may be smaller than the rest; how large the whole is, a part does not tell).
   */
  paysSoon(): boolean {
    const { files, bytes } = this.#listedFiles();
    const perMb = this.hosts === 1 ? STREAM_LONE_FILES_PER_MB : STREAM_FILES_PER_MB;
    return files > 0 && files * 1024 * 1024 >= 2 * perMb * bytes;
  }

  /** Whether a host streams (the origin then serves from `lookup`). */
  get active(): boolean {
    return this.started.size > 0;
  }

  /**
   * The walk's first `ready` entries are final. Whether a host streams: the walk then yields
   * sooner (artifact.ts), as the origin serves on its thread.
   */
  chunked(entries: readonly ManifestEntry[], ready: number): boolean {
    this.#entries = entries;
    this.#ready = ready;
    if (this.#growing && this.#growing.at < ready) this.#growing = undefined;
    if (!this.active) return false; // nothing made until a host streams: most deploys have none
    this.lookup.add(entries, ready);
    for (const f of this.#feeds.values()) f.add(entries, ready);
    return true;
  }

  /**
   * The large file entries[at] (the one after the final ones) has `chunks` so far: hosts that
   * take parts are sent those since its last part, and the origin may serve them.
   */
  growing(entries: readonly ManifestEntry[], at: number, chunks: readonly [ChunkId, number][]): void {
    this.#growing = { at, chunks };
    const e = entries[at];
    const parted = [...this.#feeds.values()].filter((f) => f.parts);
    if (!parted.length || e?.type !== 'file' || at !== this.#ready) return;
    // The walk and the origin's serving of its parts are native work (hashing, reads, sockets)
    // driven by a little JavaScript: TurboFan's compiles of it cost more than they gained.
    this.#fewerCompiles ??= fewerCompiles();
    this.lookup.addPart(e.path, chunks);
    for (const f of parted) f.addPart(e, chunks);
  }

  /** The deployment is over (its origin closed): what it set for its streams is undone. */
  done(): void {
    const r = this.#recent;
    if (r.hits || r.misses)
      trace(
        `origin: ${r.hits} chunks served from the walk's ring, ${r.misses} lapped; the walk waited ${this.#waits} times`,
      );
    this.#fewerCompiles?.();
    this.#fewerCompiles = undefined;
  }

  /** Starts streaming to a host (its sources known): what came so far at once, the rest as it comes. */
  start(
    name: string,
    client: StreamClient,
    sources: { url: string; token: string }[],
    /** Whether the host takes part lines (its twin check said so). */
    parts = false,
    /** How its body is compressed (stream-feed.ts feedCodec). */
    codec: FeedCodec = 'gzip',
  ): void {
    if (this.started.has(name) || this.#failed) return;
    trace(`stage-stream to ${name}: ${this.#ready} entries chunked${parts ? ', in parts' : ''}`);
    const first = !this.active;
    // Many small files: the walk and the origin's serving are system calls and native work
    // (reads, SHA-256, sockets) driven by a little JavaScript, and the walk waits on the agents
    // (ahead): TurboFan's compiles of that JavaScript took a core from them. Perf of the 20,000
    // files' first deploy, the deployer's CPU: its helper threads compiled 130-170 ms of it; at
    // 8x V8's budget 46-83 ms, at 64x 30-34 ms, its main thread +35 ms, its CPU 900 -> 800 ms.
    if (first && this.#smallFiles()) this.#fewerCompiles ??= fewerCompiles(SMALL_FILES_COMPILE_FACTOR);
    const key = `${parts}:${codec}`;
    const made = this.#feeds.get(key);
    const feed =
      made ??
      new StreamFeed(
        parts,
        new EntriesDigest({ format: 1, version: this.version, chunking: this.chunking }),
        codec,
      );
    this.#feeds.set(key, feed);
    let hear: (p: StageProgress) => void = () => {};
    let connect = () => {};
    const connected = new Promise<void>((resolve) => {
      connect = resolve;
    });
    let bytes = 0;
    for (const e of this.#entries) if (e.type === 'file') bytes += e.size;
    const outcome = client.stageStream({
      header: {
        protocol: DEPLOY_PROTOCOL,
        version: this.version,
        chunking: this.chunking,
        sources: sources.map((s) => ({ url: s.url, token: s.token })),
        bytes,
      },
      feed,
      onProgress: (p) => hear(p),
      onConnected: () => connect(),
    });
    this.started.set(name, {
      startedAt: Date.now(),
      outcome,
      connected: Promise.race([
        connected,
        outcome.then(
          () => {},
          () => {},
        ),
      ]),
      listen: (f) => {
        hear = f;
      },
    });
    // A first release streamed: the walk reads, chunks and serves every file now, its entries
    // kept (small-heap.ts). At the 1 MiB semi-spaces of a small heap the deployer of 20,000
    // files took ~100 scavenges. Once the stream's connection is made: growing it takes ~4 ms,
    // which held the request back while the agent waited for it.
    if (first) void this.started.get(name)?.connected.then(roomForDeploy);
    if (first) this.lookup.add(this.#entries, this.#ready);
    if (!made) {
      // A new feed: what came so far at once (the lookup has it once any host streams).
      feed.add(this.#entries, this.#ready);
      const g = this.#growing;
      if (g) this.growing(this.#entries, g.at, g.chunks);
      if (this.#release) feed.end(this.#release);
    }
  }

  /**
   * Tells the release id (manifest.ts) the digest of the walk's final `entries`, taken as the
   * streams sent them, when they sent exactly them: a 20,000-file list is not serialized a
   * second time before its id is known (the ledger's save does it, once the agents have it all).
   */
  vouch(entries: readonly ManifestEntry[]): void {
    const feed = this.#feeds.values().next().value;
    const digest = feed?.digest;
    if (!digest || entries !== this.#entries || digest.count !== entries.length) return;
    digest.vouch(entries);
  }

  /** The walk is done and its release id hashed: the last line of every stream. */
  end(release: ReleaseId): void {
    this.#release = release;
    for (const f of this.#feeds.values()) f.end(release);
  }

  /** The walk failed: every stream stops (each agent drops what it made). */
  fail(reason: string): void {
    this.#failed = true;
    for (const f of this.#feeds.values()) f.fail(reason);
  }
}
