// Compiles the daemon's native client (src/daemon/client.c) into dist/cli/slipway-client, which
// bin/slipway.js runs when it is executed directly: a `run` or `plan` served by the daemon then
// starts no Node.js at all. Run by `npm run build` and by the installed package's `postinstall`.
// Never fails: without a C compiler ($CC, else cc) it prints one line, and bin/slipway.js uses
// the Node.js client (src/daemon/client.ts), which does the same work, only later.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src', 'daemon', 'client.c');
const out = path.join(root, 'dist', 'cli', 'slipway-client');
const skip = (why) => {
  console.log(`slipway: ${why}: the daemon's client stays Node.js (no native client)`);
  process.exit(0);
};

// A binary of an earlier build must not outlive a compile that fails now.
rmSync(out, { force: true });
if (process.platform === 'win32') skip('no native client on Windows');
if (!existsSync(source)) skip(`${path.relative(root, source)} is missing`);
mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
// Through sh, so that $CC may carry flags of its own ("gcc -m64"), as make would pass it.
const cc = spawnSync('sh', ['-c', '${CC:-cc} -O2 -o "$1" "$2"', 'sh', tmp, source], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
});
if (cc.error || cc.status !== 0) {
  rmSync(tmp, { force: true });
  const first = `${cc.stderr ?? ''}${cc.error?.message ?? ''}`.trim().split('\n')[0] ?? '';
  skip(cc.status === 127 ? `no C compiler (${process.env.CC || 'cc'})` : `the C compiler failed (${first})`);
}
renameSync(tmp, out);
