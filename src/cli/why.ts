/** `slipway why TASK`: what changed since the task's most recent different hash. */
import path from 'node:path';
import type { Command } from 'commander';
import { cacheSettings } from '../cache/config.js';
import type { HashManifest } from '../cache/hash-manifest.js';
import { LocalStore } from '../cache/local-store.js';
import { ManifestStore } from '../cache/manifests.js';
import { TaskHasher } from '../cache/task-hasher.js';
import { describeDiff, diffManifests, isEmptyDiff, type ManifestDiff } from '../cache/why.js';
import { selectTargets } from '../graph/targets.js';
import { formatMs } from '../util/units.js';
import { action, type CliContext, pipelineFrom } from './context.js';
import { affectedOption, filterOption, printNotes, type TargetFlags, targetsFrom } from './targets.js';

interface Explanation {
  task: string;
  hash: string;
  /** The current hash has a local cache entry: running now would hit. */
  cached: boolean;
  lastHash?: string;
  baseline?: { hash: string; at: number };
  diff?: ManifestDiff;
  /** Why changed dependencies changed (one level per dependency, recursively). */
  deps: Explanation[];
}

const MAX_DEPTH = 4;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('why')
    .description("explain a cache miss: what differs from the task's most recent different hash")
    .argument('<task>', "task id (lint, web#build) or workspace template name (build: every package's)")
    .option('--json', 'print the explanation as JSON (an array when the name stands for several tasks)')
    .option(...filterOption)
    .option(...affectedOption)
    .action(
      action(ctx, async (name: string, opts: { json?: boolean } & TargetFlags, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd, { snapshot: true });
        const { ids, notes } = selectTargets(pipeline, [name], targetsFrom(ctx, opts));
        printNotes(ctx, notes);
        if (!ids.length) {
          ctx.stdout.write(opts.json ? '[]\n' : `nothing to explain: no task "${name}" is selected\n`);
          return 0;
        }
        const settings = cacheSettings(pipeline, ctx.env);
        const hasher = new TaskHasher(pipeline, settings.dir);
        const manifests = new ManifestStore(path.join(settings.dir, 'manifests'));
        const store = new LocalStore(settings.dir);
        const hashed = await hasher.hashAll(ids);

        const explain = (id: string, depth: number, against?: string): Explanation | string => {
          const cur = hashed.get(id);
          if (!cur?.ok) return `cannot hash ${id}: ${cur ? cur.error : 'unknown task'}`;
          const { hash, manifest } = cur.value;
          const history = manifests.history(id);
          const ex: Explanation = {
            task: id,
            hash,
            cached: store.has(hash),
            lastHash: history[0]?.hash,
            deps: [],
          };
          const base = against
            ? { hash: against, at: history.find((h) => h.hash === against)?.at ?? 0 }
            : history.find((h) => h.hash !== hash);
          const old: HashManifest | undefined = base && manifests.read(id, base.hash);
          if (!base || !old) return ex;
          ex.baseline = base;
          ex.diff = diffManifests(old, manifest);
          if (depth < MAX_DEPTH) {
            for (const d of ex.diff.deps) {
              if (!d.from || !d.to) continue;
              const sub = explain(d.id, depth + 1, d.from);
              if (typeof sub !== 'string') ex.deps.push(sub);
            }
          }
          return ex;
        };

        const all: Explanation[] = [];
        for (const id of ids) {
          const ex = explain(id, 0);
          if (typeof ex === 'string') {
            ctx.stderr.write(`error: ${ex}\n`);
            return 1;
          }
          all.push(ex);
        }
        if (opts.json) {
          ctx.stdout.write(
            `${JSON.stringify(ids.length === 1 && name === ids[0] ? all[0] : all, null, 2)}\n`,
          );
        } else ctx.stdout.write(all.map(render).join('\n'));
        return 0;
      }),
    );
}

function render(ex: Explanation): string {
  const short = (h: string) => h.slice(0, 12);
  const lines: string[] = [];
  const status = ex.cached
    ? 'in the local cache: a run now would hit'
    : 'not in the local cache: a run now would miss';
  if (!ex.baseline) {
    lines.push(
      ex.lastHash
        ? `${ex.task}: no earlier run with a different hash to compare with (current hash ${short(ex.hash)})`
        : `${ex.task}: never hashed by a run yet; run it first (current hash ${short(ex.hash)})`,
    );
  } else {
    const ago = ex.baseline.at ? ` (${formatMs(Date.now() - ex.baseline.at)} ago)` : '';
    lines.push(
      ex.lastHash === ex.hash
        ? `${ex.task}: hash ${short(ex.hash)} differs from the previous hash ${short(ex.baseline.hash)}${ago}:`
        : `${ex.task}: hash ${short(ex.hash)} differs from the last run's ${short(ex.baseline.hash)}${ago}:`,
    );
    const diff = ex.diff as ManifestDiff;
    if (isEmptyDiff(diff)) lines.push('  nothing differs in the recorded inputs (the hash format changed?)');
    lines.push(...describeDiff(diff));
    const deps = (e: Explanation, indent: string): void => {
      for (const d of e.deps) {
        if (!d.diff) continue;
        lines.push(`${indent}${d.task} changed because:`);
        lines.push(...describeDiff(d.diff, `${indent}  `));
        deps(d, `${indent}  `);
      }
    };
    deps(ex, '  ');
  }
  lines.push(`  current hash ${short(ex.hash)} is ${status}`);
  return `${lines.join('\n')}\n`;
}
