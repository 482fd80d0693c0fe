import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { DeployEvent } from '../deploy/events.js';
import { EventStream } from '../events.js';
import { attachDeployExporter } from './otel-deploys.js';

const D = 'd1';
/** Epoch times, as events carry them (the SDK takes small numbers for performance.now() times). */
const T = Date.UTC(2026, 0, 1);

/** Keeps its spans past shutdown (the SDK's in-memory exporter clears them then). */
class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A two-wave deployment of three targets, as the orchestrator emits it. */
function emitDeployment(events: EventStream<DeployEvent>): void {
  const targets = [
    { target: 'eu-1', region: 'eu', wave: 0, agent: 'http://127.0.0.1:1' },
    { target: 'eu-2', region: 'eu', wave: 1, agent: 'http://127.0.0.1:2' },
    { target: 'us-1', region: 'us', wave: 1, agent: 'http://127.0.0.1:3' },
  ];
  events.emit({
    type: 'deploy-started',
    deploymentId: D,
    kind: 'deploy',
    environment: 'prod',
    version: '1.0',
    release: 'r1',
    at: T + 1000,
    artifactBytes: 100,
    files: 1,
    chunksTotal: 10,
    chunkMs: 1,
    relay: false,
    waves: [['eu'], ['eu', 'us']],
    targets,
  });
  for (const t of targets) {
    events.emit({
      type: 'target-staging',
      deploymentId: D,
      target: t.target,
      at: T + 1010,
      source: 'origin',
      previous: null,
    });
    events.emit({
      type: 'target-staged',
      deploymentId: D,
      target: t.target,
      at: T + 1100,
      stagedMs: 90,
      bytesSent: 50,
      chunksReused: 8,
      chunksFetched: 2,
      alreadyStaged: false,
    });
  }
  let at = T + 1100;
  for (const wave of [0, 1]) {
    events.emit({ type: 'wave-started', deploymentId: D, wave, regions: wave ? ['eu', 'us'] : ['eu'], at });
    for (const t of targets.filter((x) => x.wave === wave))
      events.emit({
        type: 'target-activated',
        deploymentId: D,
        target: t.target,
        at: at + 20,
        activateMs: 20,
        previous: null,
      });
    events.emit({
      type: 'gate-finished',
      deploymentId: D,
      wave,
      outcome: 'Successful',
      at: at + 200,
      bakeMs: 150,
    });
    at += 200;
  }
  events.emit({
    type: 'deploy-finished',
    deploymentId: D,
    at,
    status: 'success',
    durationMs: at - T - 1000,
    bytesSent: 150,
    originEgressBytes: 150,
  });
}

describe('deployment traces', () => {
  it('nests waves, targets and their phases under the deployment', async () => {
    const exporter = new KeepingExporter();
    const events = new EventStream<DeployEvent>();
    const tracing = attachDeployExporter(events, {}, () => {}, exporter);
    emitDeployment(events);
    await tracing.shutdown();
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parent = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '')?.name;
    const children = (name: string) =>
      spans
        .filter((s) => parent(s) === name)
        .map((s) => s.name)
        .sort();
    const roots = spans.filter((s) => !s.parentSpanContext);
    expect(roots.map((s) => s.name)).toEqual(['deploy prod']);
    expect(children('deploy prod')).toEqual(['wave 0', 'wave 1']);
    expect(children('wave 0')).toEqual(['gate', 'target eu-1']);
    expect(children('wave 1')).toEqual(['gate', 'target eu-2', 'target us-1']);
    expect(children('target us-1')).toEqual(['activate', 'stage']);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    // Every span was ended, within the deployment.
    for (const s of spans) {
      expect(s.ended).toBe(true);
      expect(s.endTime[0] * 1e3 + s.endTime[1] / 1e6).toBeLessThanOrEqual(T + 1500.001);
    }
    expect(roots[0]!.attributes['slipway.deploy.status']).toBe('success');
  });
});
