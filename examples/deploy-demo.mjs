/**
 * Deploy demo: starts local agents (separate processes, each with its own folder, grouped into
 * three regions), deploys a build folder to them with `slipway deploy`, changes the folder
 * slightly, deploys again and shows how few bytes the second deploy moved. Then stops the agents.
 *
 * Called by `npm start` (examples/demo.mjs) with { root, appDir, artifactsDir, ... }, or alone:
 *   node examples/deploy-demo.mjs [FOLDER]      (default: this repository's dist/)
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REGIONS = [
  { name: 'eu', traffic: 40, agents: 2 },
  { name: 'us', traffic: 50, agents: 2 },
  { name: 'ap', traffic: 10, agents: 1 },
];

// The "app" each host runs from its active release: answers /health with the deployed version.
const SERVER = `import http from 'node:http';
http.createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(process.env.SLIPWAY_VERSION + '\\n');
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/**
 * App ports. An app binds its port only when its release is activated, seconds after the port
 * was chosen, so a port the kernel handed out for port 0 and took back could meanwhile become
 * another process's port 0 or an outgoing connection (the deploy's own, the relays'): the app
 * then fails to bind and the health check reaches a stranger (an agent answering 404 is an
 * "inconclusive" check, and the deploy rolls back). Nothing tells the agent or the deployer
 * which port an app bound, so the demo picks app ports below the kernel's ephemeral range, where
 * only a process that asks for that very number can take it, never the same one twice, and only
 * ports that are free right now. (The agents themselves listen on port 0 and say which port.)
 */
const handedOut = new Set();
async function appPort() {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  // 15000-19999 by default: below the ephemeral range (32768+) and the test suite's band (20000+).
  const end = Math.min(20000, Number.isFinite(low) ? low : 20000);
  const start = Math.max(1024, end - 5000);
  for (let i = 0; i < 200; i++) {
    const port = start + Math.floor(Math.random() * (end - start));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${start}-${end - 1}`);
}

async function bindable(port) {
  const srv = createServer();
  srv.listen(port, '127.0.0.1');
  const ok = await Promise.race([
    once(srv, 'listening').then(() => true),
    once(srv, 'error').then(() => false),
  ]);
  if (ok) await new Promise((r) => srv.close(r));
  return ok;
}

/** Starts an agent on port 0 (the kernel picks a free port, nothing to race for); resolves with it and its port. */
function startAgent(bin, dir, tokenFile) {
  mkdirSync(dir, { recursive: true });
  const proc = spawn(
    process.execPath,
    [bin, 'agent', '--dir', dir, '--listen', '127.0.0.1:0', '--token-file', tokenFile],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolvePromise, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (s) => {
      out += s;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolvePromise({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) => reject(new Error(`agent exited with ${code}: ${out}`)));
  });
}

/** The largest text file under a folder (the one the demo edits). */
function largestFile(dir) {
  let best;
  for (const name of readdirSync(dir, { recursive: true })) {
    const p = join(dir, String(name));
    if (!/\.(m?js|cjs|json|css|html|txt|md|map)$/.test(p)) continue;
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isFile() && (!best || st.size > best.size)) best = { path: p, size: st.size };
  }
  return best?.path;
}

const mib = (n) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(2)} MiB`);

/**
 * Runs the demo against `folder` (or opts.appDir/dist, or opts.artifactsDir). Returns an exit
 * code: 0 when both deploys succeeded.
 */
export async function deployDemo(opts = {}) {
  const root = opts.root ?? resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const bin = join(root, 'bin', 'slipway.js');
  // The app's build output (dist/) shows delta transfer best; a packed tarball changes wholesale.
  const appDist = opts.appDir ? join(opts.appDir, 'dist') : undefined;
  const source = resolve(
    opts.folder ?? (appDist && existsSync(appDist) ? appDist : (opts.artifactsDir ?? join(root, 'dist'))),
  );
  const log = opts.log ?? ((s) => process.stdout.write(`${s}\n`));
  if (!existsSync(source)) {
    log(`deploy demo: ${source} does not exist; build it first (or pass a folder)`);
    return 1;
  }
  const work = mkdtempSync(join(os.tmpdir(), 'slipway-deploy-demo-'));
  const artifact = join(work, 'artifact');
  // A copy, so the demo can change it without touching the real build output.
  cpSync(source, artifact, { recursive: true });
  // A build of a few KiB says little about transfer: add stand-in static assets (like images),
  // the same in both deploys, unless told not to.
  let padded = 0;
  if (opts.assets !== false && dirBytes(artifact) < 1024 * 1024) {
    mkdirSync(join(artifact, 'demo-assets'), { recursive: true });
    for (let i = 0; i < 8; i++)
      writeFileSync(join(artifact, 'demo-assets', `image-${i}.bin`), randomBytes(1024 * 1024));
    padded = 8;
  }
  const tokenFile = join(work, 'agent.token');
  writeFileSync(tokenFile, `demo-${Math.random().toString(36).slice(2)}-${Date.now()}\n`);
  writeFileSync(join(work, 'app-server.mjs'), SERVER);

  const agents = [];
  const yml = [
    'version: 1',
    'environments:',
    '  demo:',
    '    artifact: artifact',
    `    start: node ${join(work, 'app-server.mjs')}`,
    '    token: { file: agent.token }',
    '    relay: true',
    // An app that is slow to start on a busy machine is refused connections until it listens:
    // let the deadline, not a count of those errors, decide when it took too long.
    '    health: { path: /health, interval: 200ms, successes: 2, errors: 300, deadline: 60s }',
    '    strategy: { maxUnavailable: 1, bake: 500ms, minSamples: 2 }',
    '    regions:',
  ];
  let code = 1;
  try {
    for (const r of REGIONS) {
      yml.push(`      ${r.name}:`, `        traffic: ${r.traffic}`, '        targets:');
      for (let i = 1; i <= r.agents; i++) {
        const { proc, port } = await startAgent(bin, join(work, 'hosts', `${r.name}-${i}`), tokenFile);
        agents.push(proc);
        const app = await appPort();
        yml.push(
          `          - { name: ${r.name}-${i}, agent: "http://127.0.0.1:${port}", app: "http://127.0.0.1:${app}", env: { PORT: ${app} } }`,
        );
      }
    }
    writeFileSync(join(work, 'slipway.yml'), `${yml.join('\n')}\n`);
    log(
      `${agents.length} agents on 127.0.0.1 in regions ${REGIONS.map((r) => `${r.name}(${r.agents})`).join(', ')}; folders under ${join(work, 'hosts')}`,
    );
    const store = opts.appDir ? ['--store', join(opts.appDir, '.slipway', 'history.db')] : [];
    const deploy = (version) => {
      const summary = join(work, `summary-${version}.json`);
      const r = spawnSync(
        process.execPath,
        [bin, ...store, 'deploy', 'demo', '--version', version, '--summary', summary],
        { cwd: work, stdio: 'inherit' },
      );
      return {
        status: r.status,
        summary: existsSync(summary) ? JSON.parse(readFileSync(summary, 'utf8')) : undefined,
      };
    };

    log(
      `\nFirst deploy of ${source}${padded ? ` plus ${padded} MiB of stand-in assets` : ''} (${mib(dirBytes(artifact))}):`,
    );
    const first = deploy('demo-1');
    // A small change: one line appended to the largest file, plus a build-info file.
    const target = largestFile(artifact);
    if (target) appendFileSync(target, `\n// rebuilt ${new Date().toISOString()}\n`);
    writeFileSync(
      join(artifact, 'build-info.json'),
      `${JSON.stringify({ version: 'demo-2', builtAt: Date.now() })}\n`,
    );
    log('\nSecond deploy, after a one-line change:');
    const second = deploy('demo-2');
    if (first.summary && second.summary) {
      const s1 = first.summary.transfer;
      const s2 = second.summary.transfer;
      const full = second.summary.artifact.bytes * second.summary.targets.length;
      log(
        `\nfirst deploy moved ${mib(s1.bytesSent)}; the second moved ${mib(s2.bytesSent)} = ${(100 * s2.ratio).toFixed(2)}% of a full copy (${mib(full)} to ${second.summary.targets.length} hosts); origin sent ${mib(s2.originEgressBytes)} thanks to relays`,
      );
    }
    spawnSync(process.execPath, [bin, ...store, 'deployments', '-n', '4'], { cwd: work, stdio: 'inherit' });
    code = first.status === 0 && second.status === 0 ? 0 : 1;
  } finally {
    await Promise.all(
      agents.map(async (p) => {
        if (p.exitCode !== null) return;
        p.kill('SIGTERM');
        await once(p, 'exit');
      }),
    );
    rmSync(work, { recursive: true, force: true });
  }
  return code;
}

function dirBytes(dir) {
  let n = 0;
  for (const name of readdirSync(dir, { recursive: true })) {
    const st = statSync(join(dir, String(name)), { throwIfNoEntry: false });
    if (st?.isFile()) n += st.size;
  }
  return n;
}

export default deployDemo;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  deployDemo({ folder: process.argv[2] }).then(
    (c) => {
      process.exitCode = c;
    },
    (e) => {
      process.stderr.write(`${e?.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
