// `npm start`: runs the demo pipeline (examples/app/slipway.yml) with Slipway, then shows the
// run's summary (read back from its JSON contract), the run history, and, when those features are
// present, the analytics report and a deployment of the packaged artifact.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const appDir = join(root, 'examples', 'app');
const pipelineFile = join(appDir, 'slipway.yml');
const summaryFile = join(appDir, '.slipway', 'demo-summary.json');
const bin = join(root, 'bin', 'slipway.js');

/** Runs the built CLI with the demo pipeline, output straight to this terminal; returns its exit code. */
function slipway(...args) {
  console.log(`\n$ slipway ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [bin, '-f', relative(root, pipelineFile), ...args], {
    cwd: root,
    stdio: 'inherit',
    // The demo leaves no daemon running behind it.
    env: { ...process.env, SLIPWAY_DAEMON: '0' },
  });
  return r.status ?? 1;
}

function heading(text) {
  console.log(`\n━━ ${text} ${'━'.repeat(Math.max(0, 70 - text.length))}`);
}

const seconds = (ms) => `${(ms / 1000).toFixed(2)}s`;

function printSummary(s) {
  const tasks = [...s.tasks].sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  const t0 = Date.parse(s.startedAt);
  const width = Math.max(4, ...tasks.map((t) => t.id.length));
  console.log(`run ${s.id}: ${s.status}, ${tasks.length} tasks at concurrency ${s.concurrency}`);
  console.log(`  ${'task'.padEnd(width)}  status   cache      start  duration  predicted  cpu     timeline`);
  const span = Math.max(1, s.durationMs);
  for (const t of tasks) {
    const start = t.startedAt ? Date.parse(t.startedAt) - t0 : 0;
    const dur = t.durationMs ?? 0;
    const from = Math.round((start / span) * 30);
    const len = Math.max(1, Math.round((dur / span) * 30));
    const mark = (s.criticalPath ?? []).includes(t.id) ? '#' : '=';
    const bar = ' '.repeat(from) + mark.repeat(len);
    console.log(
      `  ${t.id.padEnd(width)}  ${t.status.padEnd(7)}  ${(t.cache ?? '').padEnd(9)}  ${seconds(start).padStart(6)}` +
        `  ${seconds(dur).padStart(8)}  ${seconds(t.predictedMs ?? 0).padStart(9)}  ${`${t.cpuSeconds ?? 0}s`.padEnd(6)}  |${bar.padEnd(30)}|`,
    );
  }
  const work = tasks.reduce((n, t) => n + (t.durationMs ?? 0), 0);
  console.log(
    `  wall ${seconds(s.durationMs)}; task time ${seconds(work)} (${(work / span).toFixed(2)} tasks busy on average)`,
  );
  console.log(
    `  lower bound ${seconds(s.lowerBoundMs)} (critical path or work/concurrency): achieved ${(s.durationMs / s.lowerBoundMs).toFixed(2)}× the bound`,
  );
  console.log(`  critical path: ${(s.criticalPath ?? []).join(' → ')}   (# in the timeline)`);
}

/** True when the built CLI has `name` as a command (features land over time). */
function hasCommand(name) {
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  return new RegExp(`^\\s+${name}\\b`, 'm').test(r.stdout ?? '');
}

async function main() {
  mkdirSync(dirname(summaryFile), { recursive: true });
  let failed = 0;

  heading('Run the pipeline (examples/app: type-check, lint, test, build, bundle, package)');
  const runCode = slipway('run', '--summary', relative(root, summaryFile));
  if (!existsSync(summaryFile)) {
    console.error(`demo: the run wrote no summary (exit ${runCode})`);
    return runCode || 1;
  }
  if (runCode !== 0) failed = runCode;

  heading('Run summary (from the --summary JSON)');
  printSummary(JSON.parse(readFileSync(summaryFile, 'utf8')));

  heading('History');
  failed ||= slipway('history');

  if (hasCommand('report')) {
    heading('Report');
    failed ||= slipway('report');
  }

  // The deploy feature provides examples/deploy-demo.mjs; without it the demo ends here.
  const deployDemo = join(root, 'examples', 'deploy-demo.mjs');
  if (existsSync(deployDemo)) {
    heading('Deploy');
    const mod = await import(pathToFileURL(deployDemo).href);
    const fn =
      typeof mod.default === 'function'
        ? mod.default
        : Object.values(mod).find((v) => typeof v === 'function');
    if (fn) {
      const code = await fn({
        root,
        appDir,
        pipelineFile,
        summaryFile,
        artifactsDir: join(appDir, 'artifacts'),
      });
      if (typeof code === 'number' && code !== 0) failed ||= code;
    }
  }

  console.log(`\nDone. Run \`npm start\` again: the history grows and predictions come from it.`);
  return failed;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
