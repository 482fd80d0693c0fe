/**
 * Artifacts for the deploy-vs-rsync bench: a web build (a couple of thousand files, text and
 * images), one large file, many small files; and the changes applied between deploys (a share
 * of files or bytes edited, a 4 KB insertion at the start of the largest file, nothing).
 * Everything is seeded: two runs build the same bytes. Text is unique per file (no cross-file
 * duplicates that would flatter a chunk store) and compresses about like minified source.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { noise } from './noise.js';

export type ShapeName = 'web' | 'big' | 'small';
export type ChangeName = 'first' | '1%' | '10%' | '4 KB shift' | 'nothing';

export interface Shape {
  name: ShapeName;
  label: string;
  /** Relative file paths with their sizes, as written. */
  files: { path: string; size: number; text: boolean }[];
}

const TOKENS = (
  'const let var function return import export from await async if else for while class new this ' +
  'value data error result config build deploy render state props module => ( ) { } [ ] ; , . = + ' +
  'true false null undefined document window console log length push map filter reduce 0 1 2 42 '
).split(' ');

/** Minified-source-like text from a seed (about 3-4x with deflate). */
function text(n: number, seed: number): Buffer {
  const r = noise(Math.ceil(n / 3) + 16, seed);
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  for (let i = 0; o < n; i++) {
    const b = r[i % r.length]!;
    const tok = TOKENS[b % TOKENS.length]!;
    o += out.write(tok, o);
    if (o < n) {
      // Identifiers with a seeded suffix now and then, so text is not a pure token soup.
      if ((b & 0x30) === 0 && o + 2 <= n) o += out.write((r[(i * 7) % r.length]! % 97).toString(36), o);
      if (o < n) out[o++] = b & 1 ? 0x20 : 0x3b;
    }
  }
  return out;
}

function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function content(f: { size: number; text: boolean }, seed: number): Buffer {
  return f.text ? text(f.size, seed) : noise(f.size, seed);
}

/** Builds a shape's files under `dir`; `scale` 1 is the published size, 0.1 the quick one. */
export function writeShape(dir: string, name: ShapeName, scale: number): Shape {
  const rnd = seeded(name.length * 1000 + 7);
  const files: Shape['files'] = [];
  if (name === 'web') {
    // Sizes roughly exponential around 25 KB, a few bundles of a MB or more; 60% text.
    const count = Math.round(2000 * scale);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const isText = rnd() < 0.6;
      let size = Math.round(25_000 * -Math.log(1 - rnd())) + 200;
      if (i % 200 === 0) size = Math.round(1_500_000 * (0.5 + rnd()));
      total += size;
      const folder = isText ? `static/js/m${i % 25}` : `static/media/i${i % 15}`;
      files.push({ path: `${folder}/f${i}.${isText ? 'js' : 'png'}`, size, text: isText });
    }
    // Scale to 50 MB (5 MB quick) exactly enough that the label holds.
    const want = 50 * 1024 * 1024 * scale;
    for (const f of files) f.size = Math.max(64, Math.round((f.size * want) / total));
  } else if (name === 'big') {
    files.push({ path: 'data.bin', size: Math.round(200 * 1024 * 1024 * scale), text: false });
  } else {
    const count = Math.round(20_000 * scale);
    for (let i = 0; i < count; i++) {
      const isText = rnd() < 0.8;
      files.push({
        path: `src/p${i % 40}/d${i % 200}/s${i}.${isText ? 'ts' : 'bin'}`,
        size: 100 + Math.floor(rnd() * 3900),
        text: isText,
      });
    }
  }
  let seed = 1;
  for (const f of files) {
    const full = join(dir, f.path);
    mkdirSync(join(full, '..'), { recursive: true });
    if (name === 'big') writeBig(full, f.size);
    else writeFileSync(full, content(f, seed++));
  }
  const labels: Record<ShapeName, string> = {
    web: `${Math.round(50 * scale)} MB web build (${files.length} files)`,
    big: `one ${Math.round(200 * scale)} MB file`,
    small: `${files.length} small files`,
  };
  return { name, label: labels[name], files };
}

/** One large file: alternating 1 MiB stretches of text and incompressible bytes. */
function writeBig(file: string, size: number): void {
  const fd = openSync(file, 'w');
  try {
    const MB = 1024 * 1024;
    for (let o = 0, i = 0; o < size; o += MB, i++) {
      const n = Math.min(MB, size - o);
      writeSync(fd, i % 2 === 0 ? text(n, 500 + i) : noise(n, 500 + i));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Applies a change to the shape's files in `dir`. `step` seeds which files and where, so each
 * step differs from the last. Changed files get an mtime at least two seconds after their previous
 * one, so no tool can miss an edit of the same size made within the same second.
 */
export function applyChange(dir: string, shape: Shape, change: ChangeName, step: number): void {
  if (change === 'first' || change === 'nothing') return;
  const rnd = seeded(step * 7919 + shape.name.length);
  const touched = new Set<string>();
  if (change === '4 KB shift') {
    const largest = shape.files.reduce((a, b) => (b.size > a.size ? b : a));
    const full = join(dir, largest.path);
    const old = readFileSync(full);
    writeFileSync(full, Buffer.concat([largest.text ? text(4096, step) : noise(4096, step), old]));
    largest.size += 4096;
    touched.add(full);
  } else {
    const share = change === '1%' ? 0.01 : 0.1;
    if (shape.files.length === 1) {
      // One file: `share` of its bytes in 100 scattered patches.
      const f = shape.files[0]!;
      const full = join(dir, f.path);
      const patch = Math.max(1, Math.round((f.size * share) / 100));
      const fd = openSync(full, 'r+');
      try {
        for (let k = 0; k < 100; k++) {
          const at = Math.floor(rnd() * (f.size - patch));
          writeSync(fd, noise(patch, step * 1000 + k), 0, patch, at);
        }
      } finally {
        closeSync(fd);
      }
      touched.add(full);
    } else {
      // `share` of the files, each edited in place: 2 KB replaced at a random spot (a small
      // source edit; a file under 2 KB is rewritten).
      const n = Math.max(1, Math.round(shape.files.length * share));
      const picks = new Set<number>();
      while (picks.size < n) picks.add(Math.floor(rnd() * shape.files.length));
      for (const i of picks) {
        const f = shape.files[i]!;
        const full = join(dir, f.path);
        const len = Math.min(2048, f.size);
        const at = Math.floor(rnd() * (f.size - len));
        const fd = openSync(full, 'r+');
        try {
          writeSync(fd, f.text ? text(len, step * 100_000 + i) : noise(len, step * 100_000 + i), 0, len, at);
        } finally {
          closeSync(fd);
        }
        touched.add(full);
      }
    }
  }
  for (const full of touched) {
    const t = Math.max(Date.now() / 1000, statSync(full).mtimeMs / 1000 + 2);
    utimesSync(full, t, t);
  }
}
