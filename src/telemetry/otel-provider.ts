/**
 * The one OpenTelemetry tracer provider of a command: the official SDK with the OTLP/HTTP
 * exporter, configured from the standard environment (endpoint, headers, service name).
 */
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

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

export interface TraceSink {
  tracer: Tracer;
  /** Sends what is buffered and stops; a failure is a warning. */
  shutdown(warn: (message: string) => void): Promise<void>;
}

/** A provider exporting to the environment's collector, or to `exporter` (tests). */
export function traceSink(env: NodeJS.ProcessEnv, exporter?: SpanExporter): TraceSink {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'slipway' }),
    spanProcessors: [
      new BatchSpanProcessor(
        exporter ??
          new OTLPTraceExporter({
            url: tracesUrl(env),
            headers: {
              ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
              ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
            },
            timeoutMillis: 5000,
          }),
      ),
    ],
  });
  return {
    tracer: provider.getTracer('slipway'),
    shutdown: async (warn) => {
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
