/**
 * Deployments as OpenTelemetry traces: the deployment is the root span, each wave a child, each
 * target a child of its wave with `stage` and `activate` spans, and the wave's health gate (bake)
 * as a span of the wave. Times are the ones the deploy events carry.
 */
import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { DeployEvent } from '../deploy/events.js';
import type { EventStream } from '../events.js';
import { traceSink } from './otel-provider.js';
import type { Tracing } from './tracing.js';

interface Open {
  span: Span;
  ctx: Context;
}

export function attachDeployExporter(
  events: EventStream<DeployEvent>,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
  exporter?: SpanExporter,
): Tracing {
  const sink = traceSink(env, exporter);
  const { tracer } = sink;
  let root: Open | undefined;
  const waveOf = new Map<string, number>();
  const regionOf = new Map<string, string>();
  const waves = new Map<number, Open>();
  const targets = new Map<string, Open>();
  const staging = new Map<string, number>();
  const child = (
    name: string,
    parent: Open | undefined,
    at: number,
    attributes: Record<string, string | number | boolean>,
  ): Open => {
    const span = tracer.startSpan(name, { startTime: at, attributes }, parent?.ctx ?? context.active());
    return { span, ctx: trace.setSpan(parent?.ctx ?? context.active(), span) };
  };
  const waveSpan = (wave: number, at: number): Open => {
    let w = waves.get(wave);
    if (!w) {
      w = child(`wave ${wave}`, root, at, { 'slipway.deploy.wave': wave });
      waves.set(wave, w);
    }
    return w;
  };
  const targetSpan = (target: string, at: number): Open => {
    let t = targets.get(target);
    if (!t) {
      const wave = waveOf.get(target) ?? 0;
      t = child(`target ${target}`, waveSpan(wave, at), at, {
        'slipway.deploy.target': target,
        'slipway.deploy.region': regionOf.get(target) ?? '',
        'slipway.deploy.wave': wave,
      });
      targets.set(target, t);
    }
    return t;
  };

  const off = events.subscribe((e) => {
    switch (e.type) {
      case 'deploy-started':
        root = child(`deploy ${e.environment}`, undefined, e.at, {
          'slipway.deploy.id': e.deploymentId,
          'slipway.deploy.kind': e.kind,
          'slipway.deploy.environment': e.environment,
          'slipway.deploy.version': e.version,
          'slipway.deploy.release': e.release,
          'slipway.deploy.artifact_bytes': e.artifactBytes,
          'slipway.deploy.chunks_total': e.chunksTotal,
          'slipway.deploy.targets': e.targets.length,
          'slipway.deploy.waves': e.waves.length,
          ...(e.gitSha ? { 'vcs.ref.head.revision': e.gitSha } : {}),
        });
        for (const t of e.targets) {
          waveOf.set(t.target, t.wave);
          regionOf.set(t.target, t.region);
        }
        break;
      case 'target-staging':
        targetSpan(e.target, e.at).span.setAttribute('slipway.deploy.source', e.source);
        staging.set(e.target, e.at);
        break;
      case 'target-staged': {
        const t = targetSpan(e.target, e.at - e.stagedMs);
        const s = child('stage', t, staging.get(e.target) ?? e.at - e.stagedMs, {
          'slipway.deploy.bytes_sent': e.bytesSent,
          'slipway.deploy.chunks_reused': e.chunksReused,
          'slipway.deploy.chunks_fetched': e.chunksFetched,
          'slipway.deploy.already_staged': e.alreadyStaged,
        });
        s.span.end(e.at);
        break;
      }
      case 'wave-started':
        waveSpan(e.wave, e.at).span.setAttribute('slipway.deploy.regions', e.regions);
        break;
      case 'target-activated': {
        const t = targetSpan(e.target, e.at - e.activateMs);
        child('activate', t, e.at - e.activateMs, {}).span.end(e.at);
        t.span.setAttribute('slipway.deploy.status', 'active');
        break;
      }
      case 'target-failed': {
        const t = targetSpan(e.target, e.at);
        t.span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.phase}: ${e.reason}` });
        t.span.setAttribute('slipway.deploy.status', `${e.phase}-failed`);
        break;
      }
      case 'target-rolled-back': {
        const t = targetSpan(e.target, e.at);
        t.span.addEvent('rolled back', { ok: e.ok, ...(e.to ? { to: e.to } : {}) }, e.at);
        t.span.setAttribute('slipway.deploy.status', 'rolled-back');
        break;
      }
      case 'gate-finished': {
        const w = waveSpan(e.wave, e.at - e.bakeMs);
        const g = child('gate', w, e.at - e.bakeMs, { 'slipway.deploy.gate': e.outcome });
        if (e.outcome === 'Failed')
          g.span.setStatus({ code: SpanStatusCode.ERROR, message: e.reason ?? 'gate failed' });
        g.span.end(e.at);
        // The wave ends with its gate: its targets are done.
        for (const [target, t] of targets) {
          if ((waveOf.get(target) ?? 0) === e.wave) {
            t.span.end(e.at);
            targets.delete(target);
          }
        }
        w.span.end(e.at);
        waves.delete(e.wave);
        break;
      }
      case 'deploy-finished': {
        for (const t of targets.values()) t.span.end(e.at);
        for (const w of waves.values()) w.span.end(e.at);
        targets.clear();
        waves.clear();
        if (!root) break;
        root.span.setAttributes({
          'slipway.deploy.status': e.status,
          'slipway.deploy.duration_ms': e.durationMs,
          'slipway.deploy.bytes_sent': e.bytesSent,
          'slipway.deploy.origin_egress_bytes': e.originEgressBytes,
        });
        if (e.status !== 'success')
          root.span.setStatus({ code: SpanStatusCode.ERROR, message: e.reason ?? e.status });
        root.span.end(e.at);
        root = undefined;
        break;
      }
      default:
        break;
    }
  });
  return {
    shutdown: async () => {
      off();
      await sink.shutdown(warn);
    },
  };
}
