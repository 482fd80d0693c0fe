import { describe, expect, it } from 'vitest';
import { noise } from '../../bench/lib/noise.js';
import {
  FAST_BYTES,
  type FastSeed,
  fastHasher,
  isFastSeed,
  joinFast,
  newFastSeed,
  sameFast,
} from './fast-hash.js';
import { chunkingBuffer } from './fastcdc.js';

/**
 * XXH3-128 digests (canonical: high then low 64 bits, big-endian) of noise(n, n) with a seed, as
 * xxHash's own C code gives them (compiled in hash-wasm 4.13.0's xxhash128, 2026-12-06).
 */
const VECTORS: [string, number, string][] = [
  ['0000000000000000', 241, '56fedb7cc580658a74cca9a07d50d73f'],
  ['0000000000000000', 1024, '7bc1812393906361acd534df849abde9'],
  ['0000000000000000', 1025, '115fe259590ee578a00e05b1502aec0b'],
  ['0000000000000000', 1088, '00806e93d43d78fff7f8af4cd44b7e3f'],
  ['0000000000000000', 65536, '7974a904b2f16109c6e1623d14d08a38'],
  ['0000000000000000', 100003, '4af913e02e499afdbdeb22ce285bd96b'],
  ['0123456789abcdef', 241, '984f3fce77599cb146bc18359578a3df'],
  ['0123456789abcdef', 1024, 'ed7a7e9060a6e1dd084f074f0d0f377e'],
  ['0123456789abcdef', 1025, '1cd6163e8833aae9a9c0a67c0ade9f72'],
  ['0123456789abcdef', 1088, '26ce9765711d4ecf48e20108b0cc3cb1'],
  ['0123456789abcdef', 65536, '7b261b162012cd72f3375f43df6d84a1'],
  ['0123456789abcdef', 100003, 'fe31f48dd9f8107b284391b84b3a3b50'],
  ['ffffffffffffffff', 241, 'b28d59cb9f36817a6ac3174861997c1a'],
  ['ffffffffffffffff', 1024, 'ba5b9e726a3eaebc318d9c2169b24775'],
  ['ffffffffffffffff', 1025, '0d50b4e756fd652384d5ab68aa49b2f2'],
  ['ffffffffffffffff', 1088, 'bffcc807db301330084a083b9b6b53d5'],
  ['ffffffffffffffff', 65536, '6499fc04ab5ae039b6671f3067a151be'],
  ['ffffffffffffffff', 100003, '04f0406e267b816731726f57dcc1da68'],
];

describe('fast hashes', () => {
  it("are xxHash's XXH3-128 with the seed, in a chunking buffer's memory and copied from elsewhere", () => {
    const buffer = chunkingBuffer(200_000);
    for (const [seed, n, want] of VECTORS) {
      const h = fastHasher(seed as FastSeed)!;
      const data = noise(n, n);
      expect(Buffer.from(h.of(data)).toString('hex'), `${seed}, ${n} bytes`).toBe(want);
      // In place at an odd offset of the chunking memory, the secret of another seed there before.
      fastHasher(newFastSeed())!.of(buffer.subarray(0, 1000));
      data.copy(buffer, 7);
      expect(
        Buffer.from(h.of(buffer.subarray(7, 7 + n))).toString('hex'),
        `${seed}, ${n} bytes in place`,
      ).toBe(want);
    }
  });

  it('depend on the seed: the same bytes hash alike under one seed and differently under another', () => {
    const a = newFastSeed();
    const b = newFastSeed();
    expect(isFastSeed(a) && isFastSeed(b)).toBe(true);
    expect(a).not.toBe(b);
    const bytes = noise(100_000, 1);
    const ha = fastHasher(a)!;
    const hb = fastHasher(b)!;
    const one = ha.of(bytes);
    expect(one).toHaveLength(FAST_BYTES);
    expect(ha.of(Buffer.from(bytes))).toEqual(one);
    expect(hb.of(bytes)).not.toEqual(one);
    // One byte changed changes the hash.
    const edited = Buffer.from(bytes);
    edited[50_000]! ^= 1;
    expect(ha.of(edited)).not.toEqual(one);
  });

  it('are compared at their place in a joined list', () => {
    const h = fastHasher(newFastSeed())!;
    const list = [noise(10, 2), noise(20, 3), noise(30, 4)].map((b) => h.of(b));
    const joined = joinFast(list);
    expect(joined).toHaveLength(3 * FAST_BYTES);
    expect(sameFast(list[1]!, joined, 1)).toBe(true);
    expect(sameFast(list[1]!, joined, 0)).toBe(false);
    expect(sameFast(list[1]!, joined, 3)).toBe(false);
  });

  it('refuses seeds that are not 16 hex digits', () => {
    for (const bad of ['', 'abc', '0123456789ABCDEF', '0123456789abcdef0', 42, undefined])
      expect(isFastSeed(bad)).toBe(false);
  });
});
