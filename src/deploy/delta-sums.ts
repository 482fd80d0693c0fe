/**
 * The block checksums of chunk deltas (wire-delta.ts), rsync's kind: a weak rolling checksum and
 * a short strong one per block of the base, both taken in one pass. The agent packs them into its
 * delta request; the origin rolls the weak one over the new chunk and checks the strong one on a
 * hit. These JavaScript loops are the reference and the fallback: delta-scan.ts runs the same
 * arithmetic as WebAssembly.
 */
const BLOCKS = 64;
/**
 * Bytes of checksums per block. The checksums were most of what an edit sends up: on the deploy
 * bench's web build with 10% of its files edited, 68 KB of the agent's 74 KB of requests (the
 * whole deploy: 427 KB). 32 bits a block (24 weak, looked up while rolling; 8 strong, checked on
 * a weak hit) still make a false match rare: about (chunk bytes x blocks) / 2^32 per chunk,
 * 4e-4 for a 25 KB chunk; and one that happens costs that chunk fetched whole again (the agent
 * checks SHA-256 and asks again, chunk-client.ts), never wrong bytes.
 */
export const ENTRY = 4;

/** A block's entry from sumsOf's packed checksums: b (16 bits), a's low byte, strong's low byte. */
export function entryOf(both: number): number {
  const weak = Math.floor(both / 65536);
  return ((weak >>> 16) * 65536 + (weak & 0xff) * 256 + (both & 0xff)) >>> 0;
}

/** The key a rolling window is looked up by: b and a's low byte, as in entryOf's top 24 bits. */
export function keyOf(a: number, b: number): number {
  return (b << 8) | (a & 0xff);
}

/**
 * Block size for a base of `size` bytes: 1/64 of it, or under 64 KiB sqrt(3 x size) where that is
 * finer. An edit costs its blocks' checksums up (4 bytes x size / block) and, down, the unchanged
 * bytes of the blocks it touches (about 1.5 blocks; fully for noise, a third for text): the sum is
 * least near block = sqrt(3 x size), 274 bytes for a 25 KB chunk (1/64: 391). Not from 64 KiB on:
 * there the finer blocks cost the 200 MB file's 10% edit ~4% more wall time (A/B, 7 pairs) for
 * 0.1 MiB of its 19.8.
 */
export function blockOf(size: number): number {
  const coarse = Math.ceil(size / BLOCKS);
  return Math.max(128, size < 64 * 1024 ? Math.min(coarse, Math.ceil(Math.sqrt(3 * size))) : coarse);
}

/**
 * rsync's weak checksum of `buf[at, at + n)`: (b << 16 | a) as one unsigned 32-bit number, a and b
 * each modulo 2^16. Returned packed, not as an object: it is taken once per block of every base
 * and every match, and the rolling loops below keep a and b in plain integer locals.
 */
export function weakOf(buf: Uint8Array, at: number, n: number): number {
  // b = sum of (n - i) * x[i] = the sum of the running sums of a: exact in a double for any
  // block up to 64 MiB / 64, and `&` takes it modulo 2^32 first, so masking once at the end is exact.
  let a = 0;
  let b = 0;
  const end = at + n;
  for (let i = at; i < end; i++) {
    a += buf[i]!;
    b += a;
  }
  return (((b & 0xffff) << 16) | (a & 0xffff)) >>> 0;
}

/**
 * FNV-1a's 32-bit prime and offset basis. The strong checksum is FNV-1a in two lanes (even and
 * odd bytes of the block, the odd lane from another basis), merged and finalized by murmur3's
 * fmix32: two independent multiply chains instead of one, about 1.3x the speed of plain FNV-1a
 * over a 1 KiB block, where the multiply's latency was the loop's.
 */
const FNV_PRIME = 0x01000193;
const FNV_BASIS = 0x811c9dc5 | 0;
const FNV_BASIS_ODD = 0x050c5d1f;

/** The 16 strong bits of a block from its two FNV-1a lanes: fmix32 spreads every byte into them. */
function finish(even: number, odd: number): number {
  let h = even ^ Math.imul(odd, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0xffff;
}

/**
 * Both checksums of `buf[at, at + n)` in one pass, packed in a double as weak * 2^16 + strong
 * (48 bits, exact): one read of each byte instead of two.
 */
export function sumsOf(buf: Uint8Array, at: number, n: number): number {
  let a = 0;
  let b = 0;
  let even = FNV_BASIS;
  let odd = FNV_BASIS_ODD;
  const pairs = at + (n & ~1);
  let i = at;
  for (; i < pairs; i += 2) {
    const x = buf[i]!;
    const y = buf[i + 1]!;
    a += x;
    b += a;
    a += y;
    b += a;
    even = Math.imul(even ^ x, FNV_PRIME);
    odd = Math.imul(odd ^ y, FNV_PRIME);
  }
  if (n & 1) {
    const x = buf[i]!;
    a += x;
    b += a;
    even = Math.imul(even ^ x, FNV_PRIME);
  }
  return ((((b & 0xffff) << 16) | (a & 0xffff)) >>> 0) * 65536 + finish(even, odd);
}
