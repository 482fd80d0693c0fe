/**
 * XXH3-128 (xxHash by Yann Collet: the 128-bit variant, its path for inputs over 240 bytes, with
 * a custom secret) as a small WebAssembly function over bytes in its memory: the fast hash of
 * chunks (fast-hash.ts). In the memory of a chunking buffer (fastcdc.ts chunkingBuffer) it reads
 * the chunk where the walk read it, without a copy. fast-hash.test.ts checks it against XXH3-128
 * digests of xxHash's own implementation.
 *
 * Assembled here, no toolchain nor dependency (as gear-scan.ts). In the text format:
 *
 *   (func $hash (param $p i32) (param $n i32) (param $sec i32) (param $out i32) (result i32)
 *     acc[0..8] = INIT_ACC
 *     for each of the (n - 1) / 1024 blocks: 16 stripes (stripe s: bytes q = p + 1024 b + 64 s,
 *       secret k = sec + 8 s); then scramble with sec + 128
 *     the rest's whole stripes, ((n - 1) % 1024) / 64, the same way from secret sec;
 *     then the last 64 bytes with secret sec + 121
 *     out[0..8) = mergeAccs(sec + 11, n * P64_1); out[8..16) = mergeAccs(sec + 117, ~(n * P64_2))
 *     (return 0))
 *   stripe: for lane i in 0..8: v = load64(q + 8 i); x = v ^ load64(k + 8 i);
 *     acc[i ^ 1] += v; acc[i] += (x & 0xffffffff) * (x >> 32)
 *   scramble with s: acc[i] = (acc[i] ^ acc[i] >> 47 ^ load64(s + 8 i)) * P32_1
 *   mergeAccs(s, start): avalanche(start + the sum over j in 0..4 of
 *     fold(acc[2 j] ^ load64(s + 16 j), acc[2 j + 1] ^ load64(s + 16 j + 8)))
 *   fold(x, y): the two halves of the 128-bit product x * y, xor'ed
 *   avalanche(h): h ^= h >> 37; h *= 0x165667919E3779F9; h ^= h >> 32
 */
import {
  ADD,
  BLOCK,
  BR,
  BR_IF,
  CONST,
  compiledOnce,
  DIV_U,
  END,
  EQZ,
  GET,
  I32,
  I64,
  I64_ADD,
  I64_AND,
  I64_CONST,
  I64_EXTEND_I32_U,
  I64_LOAD,
  I64_MUL,
  I64_OR,
  I64_SHL,
  I64_SHR_U,
  I64_STORE,
  I64_XOR,
  LOOP,
  MUL,
  moduleOf,
  SET,
  SHR_U,
  SUB,
  sleb64,
  uleb,
  VOID,
  wasm,
} from './wasm-binary.js';

/** XXH3's default secret (xxhash.h XXH3_kSecret), from which a seed's secret is derived. */
const K_SECRET = Buffer.from(
  'b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671fcb79e64eccc0e578825ad07dccff7221' +
    'b8084674f743248ee03590e6813a264c3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8' +
    'a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364eac5ac8334d3ebc3c581a0fffa1363eb' +
    '170ddd51b7f0da49d316552629d4689e2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e',
  'hex',
);

/** Bytes of a secret. */
export const SECRET_BYTES = 192;
/** Inputs this function hashes are longer than this (XXH3's shorter paths are not assembled). */
export const XXH3_LONG = 240;

const P32_1 = 0x9e3779b1n;
const P32_2 = 0x85ebca77n;
const P32_3 = 0xc2b2ae3dn;
const P64_1 = 0x9e3779b185ebca87n;
const P64_2 = 0xc2b2ae3d27d4eb4fn;
const P64_3 = 0x165667b19e3779f9n;
const P64_4 = 0x85ebca77c2b2ae63n;
const P64_5 = 0x27d4eb2f165667c5n;
const M32 = 0xffffffffn;

/** The secret of `seed` (XXH3_initCustomSecret): 12 pairs of words, the first plus and the second minus the seed. */
export function secretOf(seed: bigint): Buffer {
  const out = Buffer.alloc(SECRET_BYTES);
  for (let i = 0; i < SECRET_BYTES; i += 16) {
    out.writeBigUInt64LE(BigInt.asUintN(64, K_SECRET.readBigUInt64LE(i) + seed), i);
    out.writeBigUInt64LE(BigInt.asUintN(64, K_SECRET.readBigUInt64LE(i + 8) - seed), i + 8);
  }
  return out;
}

// Locals: the parameters, five i32 and eighteen i64.
const P = 0;
const N = 1;
const SEC = 2;
const OUT = 3;
const Q = 4;
const KP = 5;
const CNT = 6;
const BLOCKS = 7;
const B = 8;
const ACC = 9; // 9..16
const V = 17;
const X = 18;
const FX = 19;
const FY = 20;
const LL = 21;
const HL = 22;
const LH = 23;
const HH = 24;
const C = 25;
const R = 26;

/** Immediates of the constants, encoded once: BigInt arithmetic is slow on a cold thread. */
const encoded = new Map<bigint, number[]>();

/**
 * The function's code, appended number by number: built with nested array spreads, the module
 * took ~10-20 ms of a fresh thread's CPU to assemble, about as long as the hash of 100 MB.
 */
class Code {
  readonly bytes: number[] = [];

  /** Appends opcodes and immediates. */
  op(...xs: number[]): this {
    for (let i = 0; i < xs.length; i++) this.bytes.push(xs[i]!);
    return this;
  }

  /** i64.const `v` (its unsigned value). */
  c64(v: bigint): this {
    let imm = encoded.get(v);
    if (!imm) {
      imm = sleb64(v);
      encoded.set(v, imm);
    }
    return this.op(I64_CONST, ...imm);
  }

  /** i32.const `v` (0 <= v < 2^31). */
  c32(v: number): this {
    const imm: number[] = [];
    let n = v;
    for (;;) {
      const byte = n & 0x7f;
      n >>>= 7;
      const done = n === 0 && (byte & 0x40) === 0;
      imm.push(done ? byte : byte | 0x80);
      if (done) break;
    }
    return this.op(CONST, ...imm);
  }

  /** i64.load from local `addr` plus `offset`. */
  load64(addr: number, offset: number): this {
    return this.op(GET, addr, I64_LOAD, 3, ...uleb(offset));
  }

  /** The low 32 bits of local `l`. */
  lo(l: number): this {
    return this.op(GET, l).c64(M32).op(I64_AND);
  }

  /** The high 32 bits of local `l`. */
  hi(l: number): this {
    return this.op(GET, l).c64(32n).op(I64_SHR_U);
  }

  /** One stripe: 64 bytes at local `Q` against the secret at local `KP` plus `off`. */
  stripe(off: number): this {
    for (let i = 0; i < 8; i++) {
      const a = ACC + i;
      const b = ACC + (i ^ 1);
      this.load64(Q, 8 * i).op(SET, V);
      this.op(GET, V)
        .load64(KP, off + 8 * i)
        .op(I64_XOR, SET, X);
      this.op(GET, b, GET, V, I64_ADD, SET, b);
      this.op(GET, a).lo(X).hi(X).op(I64_MUL, I64_ADD, SET, a);
    }
    return this;
  }

  /** Local `CNT` stripes from `Q` and `KP`, each 64 bytes and 8 bytes of secret on. */
  stripes(): this {
    this.op(BLOCK, VOID, LOOP, VOID, GET, CNT, EQZ, BR_IF, 1).stripe(0);
    this.op(GET, Q).c32(64).op(ADD, SET, Q, GET, KP).c32(8).op(ADD, SET, KP);
    return this.op(GET, CNT).c32(1).op(SUB, SET, CNT, BR, 0, END, END);
  }

  /** scramble with the secret at `SEC` plus `off`. */
  scramble(off: number): this {
    for (let i = 0; i < 8; i++) {
      const a = ACC + i;
      this.op(GET, a, GET, a)
        .c64(47n)
        .op(I64_SHR_U, I64_XOR)
        .load64(SEC, off + 8 * i)
        .op(I64_XOR);
      this.c64(P32_1).op(I64_MUL, SET, a);
    }
    return this;
  }

  /** fold(FX, FY) onto the stack. */
  fold(): this {
    this.lo(FX).lo(FY).op(I64_MUL, SET, LL);
    this.hi(FX).lo(FY).op(I64_MUL, SET, HL);
    this.lo(FX).hi(FY).op(I64_MUL, SET, LH);
    this.hi(FX).hi(FY).op(I64_MUL, SET, HH);
    this.hi(LL).lo(HL).op(I64_ADD, GET, LH, I64_ADD, SET, C);
    // lower = C << 32 | LL & M32; upper = (HL >> 32) + (C >> 32) + HH
    this.op(GET, C).c64(32n).op(I64_SHL).lo(LL).op(I64_OR);
    this.hi(HL).hi(C).op(I64_ADD, GET, HH, I64_ADD);
    return this.op(I64_XOR);
  }

  /** mergeAccs with the secret at `SEC` plus `off`, from the value on the stack, onto the stack. */
  merge(off: number): this {
    this.op(SET, R);
    for (let j = 0; j < 4; j++) {
      this.op(GET, ACC + 2 * j)
        .load64(SEC, off + 16 * j)
        .op(I64_XOR, SET, FX);
      this.op(GET, ACC + 2 * j + 1)
        .load64(SEC, off + 16 * j + 8)
        .op(I64_XOR, SET, FY);
      this.op(GET, R).fold().op(I64_ADD, SET, R);
    }
    this.op(GET, R, GET, R).c64(37n).op(I64_SHR_U, I64_XOR, SET, R);
    this.op(GET, R).c64(0x165667919e3779f9n).op(I64_MUL, SET, R);
    return this.op(GET, R, GET, R).c64(32n).op(I64_SHR_U, I64_XOR);
  }
}

function moduleBytes(): Uint8Array {
  const c = new Code();
  c.op(2, 5, I32, 18, I64);
  for (const [i, v] of [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1].entries())
    c.c64(v).op(SET, ACC + i);
  c.op(GET, N).c32(1).op(SUB).c32(1024).op(DIV_U, SET, BLOCKS);
  c.op(GET, P, SET, Q, GET, BLOCKS, SET, B);
  // block { loop { if b == 0: break; 16 stripes; scramble; b -= 1 } }
  c.op(BLOCK, VOID, LOOP, VOID, GET, B, EQZ, BR_IF, 1);
  c.op(GET, SEC, SET, KP).c32(16).op(SET, CNT);
  c.stripes().scramble(SECRET_BYTES - 64);
  c.op(GET, B).c32(1).op(SUB, SET, B, BR, 0, END, END);
  // The rest's whole stripes, then the last 64 bytes.
  c.op(GET, SEC, SET, KP);
  c.op(GET, N).c32(1).op(SUB, GET, BLOCKS).c32(1024).op(MUL, SUB).c32(6).op(SHR_U, SET, CNT);
  c.stripes();
  c.op(GET, P, GET, N, ADD).c32(64).op(SUB, SET, Q, GET, SEC, SET, KP);
  c.stripe(SECRET_BYTES - 64 - 7);
  c.op(GET, OUT, GET, N, I64_EXTEND_I32_U).c64(P64_1).op(I64_MUL).merge(11).op(I64_STORE, 3, 0);
  c.op(GET, OUT, GET, N, I64_EXTEND_I32_U)
    .c64(P64_2)
    .op(I64_MUL)
    .c64(M32 | (M32 << 32n))
    .op(I64_XOR);
  c.merge(SECRET_BYTES - 64 - 11).op(I64_STORE, 3, 8);
  c.c32(0).op(END);
  return moduleOf([{ name: 'hash', params: 4, body: c.bytes }]);
}

/** The compiled module, or null without WebAssembly. */
const xxh3Module = compiledOnce(moduleBytes);

/**
 * XXH3-128 over a memory: `hash(p, n, sec, out)` hashes the `n` (> 240) bytes at `p` with the
 * secret at `sec` (SECRET_BYTES) and writes the low then the high 64 bits (little-endian) at `out`.
 */
export type Xxh3 = (p: number, n: number, sec: number, out: number) => number;

/** The function over `memory` (a WebAssembly.Memory), or undefined without WebAssembly. */
export function xxh3Over(memory: object): Xxh3 | undefined {
  const mod = xxh3Module();
  if (!wasm || !mod) return undefined;
  try {
    return new wasm.Instance(mod, { e: { m: memory } }).exports.hash as Xxh3;
  } catch {
    return undefined;
  }
}
