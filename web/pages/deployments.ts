/** Deployments, newest first. */
import { api, href, live } from '../api.js';
import { h, mount } from '../dom.js';
import { bytes, ms, pct, when } from '../format.js';

interface Row {
  id: string;
  kind: string;
  environment: string;
  version: string;
  status: string;
  startedAt: number;
  durationMs: number | null;
  bytesSent: number;
  artifactBytes: number;
  chunksTotal: number;
  chunksReused: number;
}

async function draw(): Promise<void> {
  const a = await api<{ deployments: Row[] }>('/api/deployments?limit=100');
  mount(
    h('h1', {}, 'Deployments'),
    a.deployments.length
      ? h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'grid-table', id: 'deployments' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...[
                  'Deployment',
                  'Environment',
                  'Version',
                  'Status',
                  'Started',
                  'Duration',
                  'Bytes moved',
                  'Chunks reused',
                ].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              ...a.deployments.map((d) =>
                h(
                  'tr',
                  {},
                  h(
                    'td',
                    {},
                    h('a', { href: href(`/deployments/${encodeURIComponent(d.id)}`) }, d.id),
                    d.kind === 'rollback' ? ' (rollback)' : '',
                  ),
                  h('td', {}, d.environment),
                  h('td', {}, d.version),
                  h('td', {}, h('span', { class: `badge ${d.status}` }, d.status)),
                  h('td', {}, when(d.startedAt)),
                  h('td', { class: 'num' }, ms(d.durationMs)),
                  h('td', { class: 'num' }, `${bytes(d.bytesSent)} of ${bytes(d.artifactBytes)}`),
                  h('td', { class: 'num' }, pct(d.chunksTotal ? d.chunksReused / d.chunksTotal : null)),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No deployment recorded yet.'),
  );
}

export async function deploymentsPage(): Promise<(() => void) | undefined> {
  await draw();
  // New and finishing deployments show up without a reload.
  let last = '';
  return live<{ deploying: unknown[]; latestDeployment: unknown }>('/api/live', (d) => {
    const k = JSON.stringify([d.deploying, d.latestDeployment]);
    if (last && k !== last) void draw();
    last = k;
  });
}
