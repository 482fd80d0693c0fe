/** Writes an InitPlan as a commented slipway.yml (values in JSON, which is valid YAML). */
import type { InitPlan, InitTask } from './plan.js';

const q = (s: string): string => (/^[A-Za-z0-9_./*@-]+$/.test(s) && !/^[*@]/.test(s) ? s : JSON.stringify(s));
const list = (xs: readonly string[]): string => `[${xs.map(q).join(', ')}]`;

function taskLines(id: string, t: InitTask, indent: string): string[] {
  const out: string[] = [];
  if (t.comment) out.push(`${indent}# ${t.comment}`);
  const body: string[] = [];
  if (t.run !== undefined) body.push(`run: ${JSON.stringify(t.run)}`);
  if (t.needs?.length) body.push(`needs: ${list(t.needs)}`);
  if (t.inputs?.length) body.push(`inputs: ${list(t.inputs)}`);
  if (t.outputs?.length) body.push(`outputs: ${list(t.outputs)}`);
  if (t.secrets?.length) body.push(`secrets: ${list(t.secrets)}`);
  if (t.cache === false) body.push('cache: false');
  if (t.outputLogs) body.push(`outputLogs: ${t.outputLogs}`);
  const key = q(id);
  if (!body.length) out.push(`${indent}${key}: {}`);
  else {
    out.push(`${indent}${key}:`);
    for (const b of body) out.push(`${indent}  ${b}`);
  }
  return out;
}

/** The file text; `schema` is the path of the JSON Schema, relative to the file. */
export function renderPipeline(plan: InitPlan, o: { schema: string; origin: string }): string {
  const lines = [
    `# yaml-language-server: $schema=${o.schema}`,
    `# Slipway pipeline, written by \`slipway init\`${o.origin}. Check it with \`slipway validate\`,`,
    '# see what a run would do with `slipway plan`, then `slipway run`.',
  ];
  for (const n of plan.notes) lines.push(`# ${n}`);
  if (plan.unconverted.length) {
    lines.push('# Not converted from turbo.json, or converted with a difference:');
    for (const u of plan.unconverted) lines.push(`#   - ${u}`);
  }
  lines.push('version: 1', `name: ${q(plan.name)}`);
  if (plan.inputs.length) {
    lines.push("# Files every task's hash depends on.", `inputs: ${list(plan.inputs)}`);
  }
  if (plan.workspace) {
    lines.push(
      `# ${plan.workspace.packages} package${plan.workspace.packages === 1 ? '' : 's'}, found by ${plan.workspace.source}: ${plan.workspace.globs.join(', ')}.`,
      '# Each template runs as <package>#<name> in every package that has the script of that name.',
      'workspaces:',
      '  tasks:',
    );
    if (!plan.templates.size) lines.push('    {}');
    for (const [id, t] of plan.templates) lines.push(...taskLines(id, t, '    '));
  }
  if (plan.tasks.size || !plan.workspace) {
    lines.push('tasks:');
    if (!plan.tasks.size) lines.push('  {}');
    for (const [id, t] of plan.tasks) lines.push(...taskLines(id, t, '  '));
  }
  return `${lines.join('\n')}\n`;
}
