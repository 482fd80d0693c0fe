/** The pipeline a per-pipeline page shows (?pipeline=), with a picker when the store has several. */
import type { PipelineRow } from '../src/store/dashboard-queries.js';
import { api, href, isStatic } from './api.js';
import { h } from './dom.js';

export async function pipelinePicker(path: string, current: string): Promise<HTMLElement | null> {
  if (isStatic) return null;
  const { pipelines } = await api<{ pipelines: PipelineRow[] }>('/api/pipelines');
  if (pipelines.length < 2) return null;
  return h(
    'select',
    {
      id: 'pipeline-select',
      'aria-label': 'pipeline',
      onchange: (e: Event) => {
        location.href = href(`${path}?pipeline=${encodeURIComponent((e.target as HTMLSelectElement).value)}`);
      },
    },
    ...pipelines.map((p) => h('option', { value: p.pipeline, selected: p.pipeline === current }, p.pipeline)),
  );
}
