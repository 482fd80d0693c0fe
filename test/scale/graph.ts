/** A 20-task pipeline with real files: sources in src/, every task writes out/<id>.txt from its inputs and its dependencies' outputs. */
import { stringify } from 'yaml';

/** Tasks t00..t19 in four layers; each of layer n>0 needs two tasks of the layer before. */
export function twentyTasks(opts: { sleep?: (i: number) => number } = {}): Record<string, string> {
  const tasks: Record<string, unknown> = {};
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) {
    const id = `t${String(i).padStart(2, '0')}`;
    const layer = Math.floor(i / 5);
    const needs =
      layer === 0
        ? []
        : [
            `t${String((layer - 1) * 5 + (i % 5)).padStart(2, '0')}`,
            `t${String((layer - 1) * 5 + ((i + 1) % 5)).padStart(2, '0')}`,
          ];
    files[`src/${id}.txt`] = `source of ${id}\n`;
    const sleep = opts.sleep ? `sleep ${opts.sleep(i)} && ` : '';
    const cat = needs.map((n) => `out/${n}.txt`).join(' ');
    tasks[id] = {
      run: `${sleep}mkdir -p out && { cat src/${id}.txt ${cat}; echo "built ${id}"; } > out/${id}.tmp && mv out/${id}.tmp out/${id}.txt && echo "${id} done"`,
      needs,
      inputs: [`src/${id}.txt`],
      outputs: [`out/${id}.txt`],
    };
  }
  return { ...files, 'slipway.yml': stringify({ name: 'scale', tasks }) };
}
