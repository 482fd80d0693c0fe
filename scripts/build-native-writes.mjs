// Compiles the agent's native writer of small files (src/deploy/agent/whole-file.c, a Node-API
// addon) into dist/cli/whole-file.node against the headers of the Node.js running this script.
// Run by `npm run build` and by the installed package's `postinstall`. Never fails: without a C
// compiler ($CC, else cc) or Node's headers it prints one line, and the agent makes the same
// system calls from JavaScript (src/deploy/agent/whole-file.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src', 'deploy', 'agent', 'whole-file.c');
// Compiled into the same addon: an edit's unchanged files linked on libuv's pool (link-ahead.ts).
const links = path.join(root, 'src', 'deploy', 'agent', 'link-many.c');
// And a large base copied with direct I/O on libuv's pool (aligned-writes.ts copyFileAligned).
const copies = path.join(root, 'src', 'deploy', 'agent', 'copy-direct.c');
const out = path.join(root, 'dist', 'cli', 'whole-file.node');
const skip = (why) => {
  console.log(`slipway: ${why}: the agent writes small files from JavaScript (no native writer)`);
  process.exit(0);
};

// An addon of an earlier build must not outlive a compile that fails now.
rmSync(out, { force: true });
if (process.platform === 'win32') skip('no native writer on Windows');
for (const f of [source, links, copies]) if (!existsSync(f)) skip(`${path.relative(root, f)} is missing`);
// Node's headers: beside its binary (an official build, /usr for a distribution's) or where npm
// says (npm_config_nodedir).
const includes = [
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
  path.join(path.dirname(process.execPath), '..', 'include', 'node'),
].filter(Boolean);
const include = includes.find((d) => existsSync(path.join(d, 'node_api.h')));
if (!include) skip("Node.js's headers (node_api.h) are not installed");
mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
// The addon's Node-API symbols are the running node's: left undefined, resolved when it loads.
const link = process.platform === 'darwin' ? '-undefined dynamic_lookup' : '';
// Through sh, so that $CC may carry flags of its own ("gcc -m64"), as make would pass it.
const cc = spawnSync(
  'sh',
  ['-c', `\${CC:-cc} -O2 -shared -fPIC ${link} -I"$1" -o "$2" "$3" "$4" "$5"`, 'sh', include, tmp, source, links, copies],
  { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
);
if (cc.error || cc.status !== 0) {
  rmSync(tmp, { force: true });
  const first = `${cc.stderr ?? ''}${cc.error?.message ?? ''}`.trim().split('\n')[0] ?? '';
  skip(cc.status === 127 ? `no C compiler (${process.env.CC || 'cc'})` : `the C compiler failed (${first})`);
}
renameSync(tmp, out);
