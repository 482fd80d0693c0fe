import type { Command } from 'commander';
import type { TaskGraph } from '../graph/graph.js';
import { targetGraph } from '../graph/targets.js';
import { action, type CliContext, pipelineFrom, UsageError } from './context.js';
import { affectedOption, filterOption, printNotes, type TargetFlags, targetsFrom } from './targets.js';

const FORMATS = ['dot', 'mermaid', 'json'] as const;
type Format = (typeof FORMATS)[number];

const q = (s: string) => JSON.stringify(s);

/** Renders the graph; edges point from a dependency to its dependent (the order things run). */
export function renderGraph(graph: TaskGraph, format: Format): string {
  const ids = graph.topo();
  switch (format) {
    case 'json':
      return `${JSON.stringify({ nodes: ids, edges: ids.flatMap((id) => graph.deps(id).map((d) => ({ from: d, to: id }))) }, null, 2)}\n`;
    case 'dot':
      return `digraph slipway {\n  rankdir=LR;\n${ids.map((id) => `  ${q(id)};`).join('\n')}\n${ids.flatMap((id) => graph.deps(id).map((d) => `  ${q(d)} -> ${q(id)};`)).join('\n')}\n}\n`;
    case 'mermaid': {
      const key = new Map(ids.map((id, i) => [id, `t${i}`]));
      return `graph LR\n${ids.map((id) => `  ${key.get(id)}[${q(id)}]`).join('\n')}\n${ids.flatMap((id) => graph.deps(id).map((d) => `  ${key.get(d)} --> ${key.get(id)}`)).join('\n')}\n`;
    }
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('graph')
    .description('print the task graph')
    .argument('[tasks...]', 'only these tasks and their dependencies')
    .option('--format <format>', `one of ${FORMATS.join(', ')}`, 'dot')
    .option(...filterOption)
    .option(...affectedOption)
    .action(
      action(ctx, async (tasks: string[], opts: { format: string } & TargetFlags, cmd: Command) => {
        if (!FORMATS.includes(opts.format as Format)) {
          throw new UsageError(`unknown format "${opts.format}"`, `use one of: ${FORMATS.join(', ')}`);
        }
        const pipeline = await pipelineFrom(cmd, { snapshot: true });
        const { graph, notes } = targetGraph(pipeline, tasks, targetsFrom(ctx, opts));
        printNotes(ctx, notes);
        ctx.stdout.write(renderGraph(graph, opts.format as Format));
        return 0;
      }),
    );
}
