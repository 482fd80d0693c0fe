/**
 * What the hand-assembled WebAssembly scanners (gear-scan.ts, delta-scan.ts) need of the binary
 * format (WebAssembly core spec): the opcodes they use, unsigned LEB128, a module of functions
 * over one imported memory `e.m`, and the part of the WebAssembly API they call (the project's
 * type libraries do not declare it).
 */

export const BLOCK = 0x02;
export const LOOP = 0x03;
export const IF = 0x04;
export const VOID = 0x40;
export const END = 0x0b;
export const BR = 0x0c;
export const BR_IF = 0x0d;
export const RETURN = 0x0f;
export const GET = 0x20;
export const SET = 0x21;
export const TEE = 0x22;
export const LOAD = 0x28;
export const LOAD8_U = 0x2d;
export const STORE = 0x36;
export const CONST = 0x41;
export const EQZ = 0x45;
export const LT_U = 0x49;
export const GT_S = 0x4a;
export const GT_U = 0x4b;
export const GE_S = 0x4e;
export const GE_U = 0x4f;
export const ADD = 0x6a;
export const SUB = 0x6b;
export const MUL = 0x6c;
export const AND = 0x71;
export const OR = 0x72;
export const XOR = 0x73;
export const SHL = 0x74;
export const SHR_U = 0x76;
export const I32 = 0x7f;
export const DIV_U = 0x6e;

// 64-bit integers (fast-xxh3.ts).
export const I64 = 0x7e;
export const I64_LOAD = 0x29;
export const I64_STORE = 0x37;
export const I64_CONST = 0x42;
export const I64_ADD = 0x7c;
export const I64_MUL = 0x7e;
export const I64_AND = 0x83;
export const I64_OR = 0x84;
export const I64_XOR = 0x85;
export const I64_SHL = 0x86;
export const I64_SHR_U = 0x88;
export const I64_EXTEND_I32_U = 0xad;

/** Signed LEB128 of a 64-bit word (i64.const's immediate), given as its unsigned value. */
export function sleb64(u: bigint): number[] {
  let n = BigInt.asIntN(64, u);
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return out;
}

/** Appends `xs` to `out` (an indexed loop: spreads of long arrays are slow on a cold thread). */
function append(out: number[], xs: readonly number[]): number[] {
  for (let i = 0; i < xs.length; i++) out.push(xs[i]!);
  return out;
}

/** `body` after its length, appended to `out`. */
function sized(out: number[], body: readonly number[]): number[] {
  return append(append(out, uleb(body.length)), body);
}

/** One exported function: `params` i32 parameters, an i32 result, its body (locals first). */
export interface WasmFunction {
  name: string;
  params: number;
  body: number[];
}

/**
 * A module of `funcs`, each of a type of its own, over the imported memory `e.m` (one page at
 * least). Built by appending: with array spreads, the 2.8 KB of fast-xxh3.ts's function took
 * ~5 ms of a fresh deployer's CPU here.
 */
export function moduleOf(funcs: WasmFunction[]): Uint8Array {
  const name = (s: string) => [s.length, ...Buffer.from(s)];
  const types = [funcs.length];
  for (const f of funcs) append(types, [0x60, f.params, ...new Array<number>(f.params).fill(I32), 1, I32]);
  const exports = [funcs.length];
  for (const [i, f] of funcs.entries()) append(exports, [...name(f.name), 0, i]);
  const code = [funcs.length];
  for (const f of funcs) sized(code, f.body);
  const out = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  sized(append(out, [1]), types);
  sized(append(out, [2]), [1, ...name('e'), ...name('m'), 2, 0, 1]);
  sized(append(out, [3]), [funcs.length, ...funcs.map((_, i) => i)]);
  sized(append(out, [7]), exports);
  sized(append(out, [10]), code);
  return new Uint8Array(out);
}

/** The part of the WebAssembly API used. */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (limits: { initial: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
  Instance: new (mod: object, imports: object) => { exports: Record<string, unknown> };
}

/** WebAssembly, where the runtime has it. */
export const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;

/**
 * The module of `bytes()`, compiled on the first call and kept; null where the runtime has no
 * WebAssembly or refuses the module (its callers then run their JavaScript loop).
 */
export function compiledOnce(bytes: () => Uint8Array): () => object | null {
  let compiled: object | null | undefined;
  return () => {
    if (compiled === undefined) {
      try {
        if (!wasm) throw new Error('no WebAssembly');
        compiled = new wasm.Module(bytes());
      } catch {
        compiled = null;
      }
    }
    return compiled;
  };
}
