/**
 * Live deploy progress. On a terminal: a block with one line per target, redrawn in place. In a
 * log (CI): one line per step. Both end with the outcome and bytes moved.
 */

import type { EventStream } from '../events.js';
import type { Out } from '../util/out.js';
import { formatBytes, formatMs } from '../util/units.js';
import type { DeployEvent } from './events.js';

interface Row {
  target: string;
  region: string;
  wave: number;
  state: string;
  detail: string;
}

/** Subscribes a progress reporter; returns a function that stops redrawing. */
export function reportProgress(events: EventStream<DeployEvent>, out: Out): () => void {
  const live = out.isTTY === true;
  const rows = new Map<string, Row>();
  let drawn = 0;
  let header = '';
  let timer: NodeJS.Timeout | undefined;
  const line = (s: string) => {
    if (live) clear();
    out.write(`${s}\n`);
  };

  function clear(): void {
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  }
  function draw(): void {
    if (!live) return;
    clear();
    const lines = [
      header,
      ...[...rows.values()].map(
        (r) => `  ${r.target.padEnd(14)} ${r.region.padEnd(10)} w${r.wave} ${r.state.padEnd(12)} ${r.detail}`,
      ),
    ];
    const width = out.columns && out.columns > 20 ? out.columns - 1 : 120;
    out.write(`${lines.map((l) => l.slice(0, width)).join('\n')}\n`);
    drawn = lines.length;
  }
  const set = (name: string, state: string, detail = '') => {
    const r = rows.get(name);
    if (r) Object.assign(r, { state, detail });
  };

  const off = events.subscribe((e) => {
    switch (e.type) {
      case 'deploy-started':
        header = `${e.kind} ${e.environment} ${e.version} (${e.release}): ${formatBytes(e.artifactBytes)} in ${e.files} files, ${e.chunksTotal} chunks`;
        line(
          `${header}; chunked in ${formatMs(e.chunkMs)}; waves ${e.waves.map((w) => `[${w.join(', ')}]`).join(' ')}${e.relay ? '; relay on' : ''}`,
        );
        for (const t of e.targets)
          rows.set(t.target, {
            target: t.target,
            region: t.region,
            wave: t.wave,
            state: 'pending',
            detail: '',
          });
        if (live) timer = setInterval(draw, 100);
        return;
      case 'target-staging':
        set(e.target, 'staging', `from ${e.source}`);
        return;
      case 'stage-progress':
        set(
          e.target,
          'staging',
          `${e.chunksFetched}/${e.chunksTotal - e.chunksReused} chunks, ${formatBytes(e.bytesFetched)}`,
        );
        return;
      case 'target-staged':
        set(
          e.target,
          'staged',
          `${formatBytes(e.bytesSent)} sent, ${e.chunksReused}/${e.chunksReused + e.chunksFetched} chunks reused`,
        );
        if (!live)
          line(
            `  staged    ${e.target}: ${formatBytes(e.bytesSent)} sent, ${e.chunksReused} chunks reused, ${formatMs(e.stagedMs)}`,
          );
        return;
      case 'target-failed':
        set(e.target, `${e.phase} failed`, e.reason);
        line(`  FAILED    ${e.target} (${e.phase}): ${e.reason}`);
        return;
      case 'wave-started':
        line(`  wave ${e.wave}: ${e.regions.join(', ')}`);
        return;
      case 'target-activated':
        set(e.target, 'active', `was ${e.previous ?? 'empty'}`);
        if (!live) line(`  activated ${e.target} (was ${e.previous ?? 'empty'})`);
        return;
      case 'health-sample':
        if (e.phase !== 'Successful')
          set(
            e.target,
            'active',
            `health ${e.phase}${e.status ? ` ${e.status}` : e.error ? ` (${e.error})` : ''}`,
          );
        else set(e.target, 'healthy', `${Math.round(e.ms)}ms`);
        return;
      case 'gate-finished':
        line(`  wave ${e.wave} gate: ${e.outcome}${e.reason ? ` (${e.reason})` : ''}`);
        return;
      case 'target-rolled-back':
        set(e.target, e.ok ? 'rolled back' : 'rollback failed', `to ${e.to ?? 'nothing'}`);
        line(
          `  ${e.ok ? 'rolled back' : 'ROLLBACK FAILED'} ${e.target} -> ${e.to ?? '(no release)'}${e.reason ? `: ${e.reason}` : ''}`,
        );
        return;
      case 'deploy-warning':
        line(`  warning: ${e.message}`);
        return;
      case 'app-validated':
        line(`  measured  ${e.target}: ${describeValidation(e)}`);
        return;
      case 'deploy-finished':
        if (timer) clearInterval(timer);
        draw();
        drawn = 0;
        out.write(
          `${e.status}${e.reason ? `: ${e.reason}` : ''} in ${formatMs(e.durationMs)}; ${formatBytes(e.bytesSent)} sent to targets, ${formatBytes(e.originEgressBytes)} from the origin\n`,
        );
        return;
    }
  });
  return () => {
    if (timer) clearInterval(timer);
    off();
  };
}

/** "start-up 320ms, 45.1 MiB resident, 0.02 cores after 1.00s" plus budget breaches or problems. */
function describeValidation(e: Extract<DeployEvent, { type: 'app-validated' }>): string {
  const parts = [
    e.startupMs === null ? 'start-up -' : `start-up ${formatMs(e.startupMs)}`,
    e.rssBytes === null ? null : `${formatBytes(e.rssBytes)} resident`,
    e.cpuCores === null ? null : `${e.cpuCores.toFixed(2)} cores after ${formatMs(e.settleMs)}`,
  ].filter(Boolean);
  const tail = e.overBudget.length
    ? ` — OVER BUDGET: ${e.overBudget.join('; ')}`
    : e.problem
      ? ` (${e.problem})`
      : '';
  return `${parts.join(', ')}${tail}`;
}
