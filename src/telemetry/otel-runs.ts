/**
 * Runs as OpenTelemetry traces through the official SDK and OTLP/HTTP exporter: the run is the
 * root span, each task a child with its cache status, hash, CPU seconds and peak memory. Spans
 * carry the times the events recorded, so the trace matches the Gantt.
 */
import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { EventStream, RunEvent } from '../events.js';
import type { Tracing } from './tracing.js';

/** The traces URL: the signal-specific variable as is, or the base endpoint plus /v1/traces. */
export function tracesUrl(env: NodeJS.ProcessEnv): string {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (specific) return specific;
  return `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').replace(/\/+$/, '')}/v1/traces`;
}

/** `k1=v1,k2=v2` (values URL-encoded), as the OpenTelemetry specification writes headers. */
export function parseHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try {
      out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      // A malformed pair is skipped, as the SDK does.
    }
  }
  return out;
}

export function attachRunExporter(
  events: EventStream<RunEvent>,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Tracing {
  const exporter = new OTLPTraceExporter({
    url: tracesUrl(env),
    headers: {
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    timeoutMillis: 5000,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'slipway' }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('slipway');
  const runs = new Map<string, { span: Span; ctx: Context }>();

  const off = events.subscribe((e) => {
    switch (e.type) {
      case 'run-started': {
        const span = tracer.startSpan(`run ${e.pipeline}`, {
          startTime: e.at,
          attributes: {
            'slipway.run.id': e.runId,
            'slipway.pipeline': e.pipeline,
            'slipway.run.tasks': e.tasks.length,
            'slipway.run.concurrency': e.concurrency,
            'slipway.run.predicted_ms': e.predictedMakespanMs,
            'slipway.run.critical_path': e.criticalPath,
            ...(e.gitSha ? { 'vcs.ref.head.revision': e.gitSha } : {}),
          },
        });
        runs.set(e.runId, { span, ctx: trace.setSpan(context.active(), span) });
        break;
      }
      case 'task-finished': {
        const run = runs.get(e.runId);
        if (!run) break;
        const span = tracer.startSpan(
          `task ${e.taskId}`,
          {
            startTime: e.startedAt,
            attributes: {
              'slipway.task.id': e.taskId,
              'slipway.task.status': e.status,
              'slipway.task.cache': e.cache,
              'slipway.task.cpu_seconds': e.cpuSeconds,
              'slipway.task.peak_memory_bytes': e.peakRssBytes,
              'slipway.task.duration_ms': e.durationMs,
              'slipway.task.predicted_ms': e.predictedMs,
              'slipway.task.attempts': e.attempts,
              ...(e.hash ? { 'slipway.task.hash': e.hash } : {}),
              ...(e.exitCode !== null ? { 'process.exit.code': e.exitCode } : {}),
            },
          },
          run.ctx,
        );
        if (e.status === 'failed')
          span.setStatus({ code: SpanStatusCode.ERROR, message: e.failure?.reason ?? 'failed' });
        span.end(e.at);
        break;
      }
      case 'run-finished': {
        const run = runs.get(e.runId);
        if (!run) break;
        run.span.setAttributes({
          'slipway.run.status': e.status,
          'slipway.run.duration_ms': e.durationMs,
          'slipway.run.lower_bound_ms': e.lowerBoundMs,
        });
        if (e.status === 'failed') run.span.setStatus({ code: SpanStatusCode.ERROR, message: 'run failed' });
        run.span.end(e.at);
        runs.delete(e.runId);
        break;
      }
      default:
        break;
    }
  });

  return {
    shutdown: async () => {
      off();
      try {
        await provider.forceFlush();
        await provider.shutdown();
      } catch (e) {
        warn(
          `OpenTelemetry export to ${tracesUrl(env)} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    },
  };
}
