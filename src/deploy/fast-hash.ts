/**
 * Fast hashes of chunks: XXH3-128 (hash-wasm) keyed with a seed of the chunk ledger's own, kept
 * beside each chunk's SHA-256 id in the ledger and never sent anywhere. When a changed file is
 * chunked again (rechunk.ts), a chunk where the file had one of the same size and the same fast
 * hash takes that chunk's recorded SHA-256 id without SHA-256 being computed: measured on
 * 200 MB in 64 KiB chunks, SHA-256 (node:crypto, with the CPU's SHA instructions) took 122 ms,
 * this hash 46 ms (its copy into WebAssembly memory included). rsync confirms blocks the same
 * way, with a cheap hash first.
 *
 * Why a non-cryptographic hash is acceptable here. The agents do not trust it: every chunk an
 * agent receives is checked against its SHA-256 id. A false confirmation (new bytes whose fast
 * hash equals the old chunk's) would make the deployer list the old chunk's id for bytes that
 * changed: an agent that holds that chunk would write the old bytes there (a stale stretch of
 * one file in the release, which nothing downstream would notice), and one that asks for it
 * would get bytes that fail its check (a failed deploy). How unlikely: XXH3-128 is built to
 * collide like a random 128-bit function on unrelated inputs (SMHasher); only the chunk at the
 * same place of the same file, of the same size, is compared, so even 10^12 comparisons stay
 * far below one in 10^20. Crafted collisions: XXH3 is not collision resistant against someone who
 * knows the seed, so the seed is random per ledger (64 bits, what XXH3 takes), stored only in
 * the ledger on the deployer's disk: content written into an artifact by others (uploads,
 * fetched data) cannot aim at the hash of a chunk it cannot compute.
 */
import { randomBytes } from 'node:crypto';
import { createXXHash128, type IHasher } from 'hash-wasm';

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

/** The fast hash of chunks under one seed, on this thread. */
export interface FastHasher {
  readonly seed: FastSeed;
  /** The 16-byte fast hash of `bytes` (a fresh array). */
  of(bytes: Uint8Array): Uint8Array;
}

/** Hashers by seed, one each per thread: a hasher is a WebAssembly instance, made asynchronously. */
const made = new Map<FastSeed, Promise<FastHasher | undefined>>();

/** The hasher of `seed`, or undefined where WebAssembly is missing (then SHA-256 confirms). */
export function fastHasher(seed: FastSeed): Promise<FastHasher | undefined> {
  let h = made.get(seed);
  if (!h) {
    h = createXXHash128(Number.parseInt(seed.slice(8), 16), Number.parseInt(seed.slice(0, 8), 16)).then(
      (x: IHasher): FastHasher => ({
        seed,
        of(bytes) {
          x.init();
          x.update(bytes);
          return x.digest('binary');
        },
      }),
      () => undefined,
    );
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
