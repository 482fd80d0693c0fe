/**
 * Fast hashes of chunks: XXH3-128 (fast-xxh3.ts) keyed with a seed of the chunk ledger's own,
 * kept beside each chunk's SHA-256 id in the ledger and never sent anywhere. When a changed file
 * is chunked again (rechunk.ts), a chunk where the file had one of the same size and the same
 * fast hash takes that chunk's recorded SHA-256 id without SHA-256 being computed. rsync confirms
 * blocks the same way, with a cheap hash first. Measured here for 200 MB in 64 KiB chunks on a
 * fresh thread: SHA-256 (node:crypto, with the CPU's SHA instructions) ~145 ms of CPU; this hash,
 * reading the chunks in the chunking buffer's own WebAssembly memory, ~35 ms; hash-wasm's
 * xxhash128 ~75 ms plus ~20 ms to load and compile (it copies each chunk into its memory).
 *
 * Why a non-cryptographic hash is acceptable here. The agents do not trust it: every chunk an
 * agent receives is checked against its SHA-256 id. A false confirmation (new bytes whose fast
 * hash equals the old chunk's) would make the deployer list the old chunk's id for bytes that
 * changed: an agent that holds that chunk would write the old bytes there (a stale stretch of
 * one file in the release, which nothing downstream would notice), and one that asks for it
 * would get bytes that fail its check (a failed deploy). How unlikely: XXH3-128 is built to
 * collide like a random 128-bit function on unrelated inputs (xxHash's SMHasher results), and
 * only the chunk at the same place of the same file, of the same size, is compared: on the order
 * of 2^-128 per comparison, so even 10^12 comparisons stay below one chance in 10^26. Crafted
 * collisions: XXH3 is not collision resistant against someone who knows its secret, so the seed
 * (from which the secret is derived) is random per ledger, 64 bits, stored only in the ledger on
 * the deployer's disk: content written into an artifact by others (uploads, fetched data) cannot
 * aim at the hash of a chunk it cannot compute.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SECRET_BYTES, secretOf, XXH3_LONG, type Xxh3, xxh3Over } from './fast-xxh3.js';
import { chunkingMemory } from './fastcdc.js';
import { SCRATCH, SCRATCH_BYTES } from './gear-scan.js';
import { wasm } from './wasm-binary.js';

/** Bytes of one fast hash. */
export const FAST_BYTES = 16;

/** A ledger's seed: 16 hex digits (64 bits). */
export type FastSeed = string & { readonly __brand: 'FastSeed' };

/** A fresh random seed for a new ledger. */
export function newFastSeed(): FastSeed {
  return randomBytes(8).toString('hex') as FastSeed;
}

/** Whether `s` is a seed as `newFastSeed` makes them (a ledger's head is checked, not trusted). */
export function isFastSeed(s: unknown): s is FastSeed {
  return typeof s === 'string' && /^[0-9a-f]{16}$/.test(s);
}

/** The fast hash of chunks under one seed. */
export interface FastHasher {
  readonly seed: FastSeed;
  /** The 16-byte fast hash of `bytes` (a fresh array). */
  of(bytes: Uint8Array): Uint8Array;
}

/** Where the result goes in a memory's scratch, after the secret. */
const OUT = SCRATCH + SECRET_BYTES;
/** Where bytes copied into this thread's own memory start (the layout of a chunking buffer's). */
const OWN_DATA = SCRATCH + SCRATCH_BYTES;
const PAGE = 65536;

/** The hash function over a memory, and the seed whose secret its scratch holds. */
interface Over {
  hash: Xxh3;
  seed?: FastSeed;
}

/** By WebAssembly.Memory: chunking buffers' (fastcdc.ts) and this thread's own. */
const overs = new WeakMap<object, Over>();

/** This thread's memory for bytes that are not in a chunking buffer (copied there). */
let own: { memory: { buffer: ArrayBuffer; grow(pages: number): number } } | undefined;

function ownMemory(size: number): { buffer: ArrayBuffer } | undefined {
  if (!wasm) return undefined;
  const need = OWN_DATA + size;
  if (!own) own = { memory: new wasm.Memory({ initial: Math.ceil(need / PAGE) }) };
  const have = own.memory.buffer.byteLength;
  if (have < need) own.memory.grow(Math.ceil((need - have) / PAGE));
  return own.memory;
}

class Hasher implements FastHasher {
  readonly #secret: Buffer;
  readonly #key: Buffer;

  constructor(readonly seed: FastSeed) {
    this.#key = Buffer.from(seed, 'hex');
    this.#secret = secretOf(this.#key.readBigUInt64BE(0));
  }

  of(bytes: Uint8Array): Uint8Array {
    // XXH3's paths for short inputs are not assembled: these (a file's last chunk at most) take
    // the first half of a keyed SHA-256.
    if (bytes.length <= XXH3_LONG)
      return new Uint8Array(
        createHash('sha256').update(this.#key).update(bytes).digest().subarray(0, FAST_BYTES),
      );
    let memory: { buffer: ArrayBuffer } | undefined = chunkingMemory(bytes) as
      | { buffer: ArrayBuffer }
      | undefined;
    let p = bytes.byteOffset;
    if (!memory) {
      memory = ownMemory(bytes.length);
      if (!memory) throw new Error('fast hash without WebAssembly');
      new Uint8Array(memory.buffer, OWN_DATA, bytes.length).set(bytes);
      p = OWN_DATA;
    }
    let over = overs.get(memory);
    if (!over) {
      const hash = xxh3Over(memory);
      if (!hash) throw new Error('fast hash without WebAssembly');
      over = { hash };
      overs.set(memory, over);
    }
    if (over.seed !== this.seed) {
      new Uint8Array(memory.buffer, SCRATCH, SECRET_BYTES).set(this.#secret);
      over.seed = this.seed;
    }
    over.hash(p, bytes.length, SCRATCH, OUT);
    // XXH128's canonical form: the high then the low 64 bits, big-endian.
    const r = new Uint8Array(memory.buffer, OUT, FAST_BYTES);
    const out = new Uint8Array(FAST_BYTES);
    for (let i = 0; i < 8; i++) {
      out[i] = r[15 - i]!;
      out[8 + i] = r[7 - i]!;
    }
    return out;
  }
}

/** Hashers by seed. */
const made = new Map<FastSeed, FastHasher>();

/** The hasher of `seed`, or undefined where WebAssembly is missing (then SHA-256 confirms). */
export function fastHasher(seed: FastSeed): FastHasher | undefined {
  let h = made.get(seed);
  if (!h) {
    if (!wasm || !ownMemory(0) || !xxh3Over(own!.memory)) return undefined;
    h = new Hasher(seed);
    made.set(seed, h);
  }
  return h;
}

/** Whether `hash` equals the `k`-th fast hash of `list` (hashes one after the other). */
export function sameFast(hash: Uint8Array, list: Uint8Array, k: number): boolean {
  const o = k * FAST_BYTES;
  if (o + FAST_BYTES > list.length) return false;
  for (let i = 0; i < FAST_BYTES; i++) if (hash[i] !== list[o + i]) return false;
  return true;
}

/** The fast hashes of a chunk list, one after the other, as the ledger keeps them. */
export function joinFast(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * FAST_BYTES);
  for (const [k, h] of hashes.entries()) out.set(h, k * FAST_BYTES);
  return out;
}
