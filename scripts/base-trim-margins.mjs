// The margin of agent/base-trim.ts, measured: the deploy bench's big file (SCALE x 200 MB) edited
// ('1%', '10%', '4 KB shift' as the bench does; 'mixed': 40 insertions each followed by a deletion),
// chunked, its bases named (chunkBases) and trimmed with each margin (MARGINS; 'none': untrimmed),
// each changed chunk's delta made as the origin makes it. Prints bytes checksummed per byte of new
// chunks, bytes of checksums up and of deltas down. After `npm run build`:
//   SCALE=1 node scripts/base-trim-margins.mjs
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
const D = new URL('../dist', import.meta.url).pathname;
const { writeShape, applyChange } = await import(`${D}/bench/lib/deploy-shapes.js`);
const { chunkBuffer, DEFAULT_CHUNKING } = await import(`${D}/src/deploy/fastcdc.js`);
const { chunkBases } = await import(`${D}/src/deploy/manifest-delta.js`);
const { trimBases } = await import(`${D}/src/deploy/agent/base-trim.js`);
const { deltaRequest, bestDelta, MIN_DELTA_BASE } = await import(`${D}/src/deploy/wire-delta.js`);
const { loadZstd } = await import(`${D}/src/deploy/zstd.js`);
const zstd = loadZstd();
const scale = Number(process.env.SCALE ?? 0.1);
const manifest = (chunks, size) => ({ format: 1, version: 'v', chunking: DEFAULT_CHUNKING,
  entries: [{ type: 'file', path: 'f', mode: 0o644, size, chunks: chunks.map((c) => [c.id, c.size]) }] });
function mutate(buf, kind, step) {
  if (kind !== 'mixed') return null;
  // 20 regions each: insert k bytes then delete k' bytes a little later (shift there and back).
  let out = buf; let r = step * 7 + 1;
  const rnd = () => ((r = (r * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let n = 0; n < 40; n++) {
    const at = Math.floor(rnd() * (out.length - 100000));
    const ins = Math.floor(rnd() * 3000) + 1;
    const gap = Math.floor(rnd() * 20000);
    const del = Math.floor(rnd() * 3000) + 1;
    const mid = Buffer.alloc(ins, n);
    out = Buffer.concat([out.subarray(0, at), mid, out.subarray(at, at + gap), out.subarray(at + gap + del)]);
  }
  return out;
}
const margins = (process.env.MARGINS ?? 'none,0,256,1024,4096,16384').split(',');
for (const change of (process.env.CHANGES ?? '1%,10%,4 KB shift,mixed').split(',')) {
  const dir = `${tmpdir()}/slipway-trim-${process.pid}`; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir);
  const shape = writeShape(dir, 'big', scale);
  const file = `${dir}/${shape.files[0].path}`;
  const a = readFileSync(file);
  let b;
  if (change === 'mixed') b = mutate(a, 'mixed', 1); else { applyChange(dir, shape, change, 1); b = readFileSync(file); }
  const ca = chunkBuffer(a), cb = chunkBuffer(b);
  const ma = manifest(ca, a.length), mb = manifest(cb, b.length);
  const hints = chunkBases(ma, mb, MIN_DELTA_BASE);
  const oldAt = new Map(ca.map((c) => [c.id, c]));
  const newAt = new Map(cb.map((c) => [c.id, c]));
  const line = [change];
  for (const m of margins) {
    const trims = new Map();
    if (m !== 'none') trimBases(mb.entries[0].chunks, ma.entries[0].chunks, hints, trims, Number(m));
    let baseBytes = 0, up = 0, down = 0, newBytes = 0;
    for (const [id, ids] of Object.entries(hints)) {
      const c = newAt.get(id); const data = b.subarray(c.offset, c.offset + c.size); newBytes += c.size;
      const first = oldAt.get(ids[0]);
      let base = a.subarray(first.offset, first.offset + ids.reduce((s, x) => s + oldAt.get(x).size, 0));
      const t = trims.get(id); if (t) base = base.subarray(t.from, t.to);
      baseBytes += base.length;
      const req = deltaRequest(id, ids, base);
      up += Buffer.from(req.sums, 'base64').length;
      const d = bestDelta(data, req, { codec: zstd, level: 9, noiseLevel: 3 });
      down += d ? Math.min(d.payload.length, data.length) : data.length;
    }
    line.push(`m=${m}: base/new ${(baseBytes / newBytes).toFixed(2)} up ${(up / 1024).toFixed(0)}K down ${(down / 1024).toFixed(0)}K total ${((up + down) / 1024).toFixed(0)}K`);
  }
  console.log(line.join('\n  '));
  rmSync(dir, { recursive: true, force: true });
}
