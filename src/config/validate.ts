/** Checks that need the whole pipeline: dependencies exist, no cycles, requests fit the pool. */

import { findCycle } from '../util/find-cycle.js';
import { formatBytes } from '../util/units.js';
import { capacityFor } from './capacity.js';
import { type Diagnostic, didYouMean } from './diagnostic.js';
import type { Pipeline } from './types.js';

export function checkPipeline(p: Pipeline): Diagnostic[] {
  // An empty file is a mistake (a wrong path, a save that failed), not a pipeline that passes.
  // A file with only environments is a deploy-only pipeline.
  if (p.tasks.size === 0 && !p.raw.environments) {
    return [
      {
        location: p.locate(p.raw.workspaces ? ['workspaces'] : ['tasks'], 'key'),
        message: p.raw.workspaces
          ? 'nothing to run: the workspace templates expand to no tasks'
          : 'nothing to run: the pipeline file defines no tasks',
        hint: p.raw.workspaces
          ? 'add "tasks:" templates under workspaces: and check its "packages:" globs'
          : 'add a task, e.g. "tasks:" then "  build:" then "    run: npm run build"',
      },
    ];
  }
  const out: Diagnostic[] = [];
  const ids = [...p.tasks.keys()];
  for (const t of p.tasks.values()) {
    t.needs.forEach((dep, i) => {
      if (p.tasks.has(dep)) return;
      const guess = didYouMean(dep, ids);
      out.push({
        location: p.locate(['tasks', t.id, 'needs', i]),
        message: `task "${t.id}" needs unknown task "${dep}"`,
        hint: guess ? `did you mean "${guess}"?` : `known tasks: ${ids.join(', ') || '(none)'}`,
      });
    });
  }
  if (out.length) return out;

  const cycle = findCycle(ids, (id) => p.tasks.get(id)?.needs ?? []);
  if (cycle) {
    const [a, b] = cycle;
    const i = p.tasks.get(a!)?.needs.indexOf(b!) ?? -1;
    out.push({
      location: p.locate(i >= 0 ? ['tasks', a!, 'needs', i] : ['tasks', a!], i >= 0 ? 'value' : 'key'),
      message: `dependency cycle: ${cycle.join(' -> ')}`,
      hint: `remove one of these "needs" entries so that the tasks form a graph without cycles`,
    });
  }

  const pool = capacityFor(p);
  for (const t of p.tasks.values()) {
    const r = t.resources;
    if (r?.cpu !== undefined && r.cpu > pool.cpu) {
      out.push({
        location: p.locate(['tasks', t.id, 'resources', 'cpu']),
        message: `task "${t.id}" asks for ${r.cpu} cpu but the pool has ${pool.cpu}`,
        hint: `lower resources.cpu to at most ${pool.cpu} or raise the pool with "resources: { cpu: ${r.cpu} }" at the top level`,
      });
    }
    if (r?.memory !== undefined && r.memory > pool.memory) {
      out.push({
        location: p.locate(['tasks', t.id, 'resources', 'memory']),
        message: `task "${t.id}" asks for ${formatBytes(r.memory)} of memory but the pool has ${formatBytes(pool.memory)}`,
        hint: 'lower resources.memory or raise the pool with a top-level "resources: { memory: ... }"',
      });
    }
  }
  return out;
}
