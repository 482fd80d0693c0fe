/**
 * Runs as OpenTelemetry traces through the official SDK and OTLP/HTTP exporter: the run is the
 * root span, each task a child with its cache status, hash, CPU seconds and peak memory. Spans
 * carry the times the events recorded, so the trace matches the Gantt.
 */
import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { EventStream, RunEvent } from '../events.js';
import { traceSink } from './otel-provider.js';
import type { Tracing } from './tracing.js';

export function attachRunExporter(
  events: EventStream<RunEvent>,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Tracing {
  const sink = traceSink(env);
  const tracer = sink.tracer;
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
      await sink.shutdown(warn);
    },
  };
}
