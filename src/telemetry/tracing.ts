/**
 * OpenTelemetry export, switched on by the standard environment: with OTEL_EXPORTER_OTLP_ENDPOINT
 * (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, every run and every deployment becomes a trace. The SDK loads only
 * then, so runs without it pay nothing at start-up.
 */
import type { DeployEvent } from '../deploy/events.js';
import type { EventStream, RunEvent } from '../events.js';

export interface Tracing {
  /** Sends what is buffered and stops; never throws (a collector that is down costs a warning). */
  shutdown(): Promise<void>;
}

/** True when the environment asks for OTLP trace export. */
function wanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** Subscribes a run exporter to the event stream when the environment asks for one. */
export async function attachTracing(
  events: EventStream<RunEvent>,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Promise<Tracing | undefined> {
  if (!wanted(env)) return undefined;
  const { attachRunExporter } = await import('./otel-runs.js');
  return attachRunExporter(events, env, warn);
}

/** Subscribes a deployment exporter (waves, targets, phases) when the environment asks for one. */
export async function attachDeployTracing(
  events: EventStream<DeployEvent>,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Promise<Tracing | undefined> {
  if (!wanted(env)) return undefined;
  const { attachDeployExporter } = await import('./otel-deploys.js');
  return attachDeployExporter(events, env, warn);
}
