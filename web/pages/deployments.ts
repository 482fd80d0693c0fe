/** Deployments, newest first. */
import type { ReleasesView } from '../../src/dashboard/releases-view.js';
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
  health: { ok: number; failed: number } | null;
}

const num = (v: number | null, f: (x: number) => string) => (v === null ? '–' : f(v));

/** Start-up time and memory per release (what the agents measured after activation). */
function releases(v: ReleasesView): HTMLElement {
  return h(
    'section',
    {},
    h('h2', {}, 'Releases: start-up time and memory'),
    v.releases.length
      ? h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'grid-table', id: 'releases' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...[
                  'Release',
                  'Version',
                  'Environment',
                  'First measured',
                  'Targets',
                  'Start-up p50',
                  'Start-up max',
                  'Memory p50',
                  'Memory max',
                  'CPU p50',
                  'Problems',
                ].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              ...v.releases.map((r) =>
                h(
                  'tr',
                  { 'data-release': r.release },
                  h('td', {}, r.release),
                  h('td', {}, r.version ?? '–'),
                  h('td', {}, r.environment),
                  h('td', {}, when(r.firstMeasuredAt)),
                  h('td', { class: 'num' }, r.samples),
                  h('td', { class: 'num' }, ms(r.startupP50Ms)),
                  h('td', { class: 'num' }, ms(r.startupMaxMs)),
                  h('td', { class: 'num' }, bytes(r.rssP50Bytes)),
                  h('td', { class: 'num' }, bytes(r.rssMaxBytes)),
                  h(
                    'td',
                    { class: 'num' },
                    num(r.cpuP50Cores, (x) => `${x.toFixed(2)} cores`),
                  ),
                  h('td', { class: 'reason' }, r.problems ? `${r.problems}: ${r.problem ?? ''}` : ''),
                ),
              ),
            ),
          ),
        )
      : h(
          'p',
          { class: 'muted' },
          `No app measurements in the last ${v.days} days (deployments with validate: record them).`,
        ),
    h('h2', {}, 'Rollbacks'),
    v.rollbacks.length
      ? h(
          'ul',
          { class: 'list', id: 'rollbacks' },
          ...v.rollbacks.map((r) =>
            h(
              'li',
              { 'data-deployment': r.id },
              h('a', { href: href(`/deployments/${encodeURIComponent(r.id)}`) }, r.id),
              ` ${r.environment} ${r.version} (${r.kind === 'rollback' ? 'rollback' : r.status}) ${when(r.startedAt)}: `,
              r.reason ?? 'no reason recorded',
              h('span', { class: 'evidence' }, ` — health ${r.health.ok} ok, ${r.health.failed} failed`),
            ),
          ),
        )
      : h('p', { class: 'muted' }, `No rollback in the last ${v.days} days.`),
  );
}

async function draw(): Promise<void> {
  const [a, rel] = await Promise.all([
    api<{ deployments: Row[] }>('/api/deployments?limit=100'),
    api<ReleasesView>('/api/releases').catch(() => null),
  ]);
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
                  'Health',
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
                  h(
                    'td',
                    { class: 'num health' },
                    d.health
                      ? `${d.health.ok} ok${d.health.failed ? `, ${d.health.failed} failed` : ''}`
                      : '–',
                  ),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No deployment recorded yet.'),
    rel ? releases(rel) : null,
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
