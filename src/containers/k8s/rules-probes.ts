/** Probe rules: missing readiness, liveness that kills starting pods, liveness == readiness, no startup probe. */
import type { ContainerFinding } from '../findings.js';
import { seconds } from '../format.js';
import { type Observations, observedFor } from './observed.js';
import { handler, livenessKillsAt, readySeconds, timing } from './probes.js';
import type { Workload } from './workloads.js';

/** Seconds of start-up from which a startup probe is worth having. */
const SLOW_START = 30;

export function probeRules(w: Workload, observed: Observations): ContainerFinding[] {
  const out: ContainerFinding[] = [];
  const m = w.manifest;
  if (m.kind === 'Job' || m.kind === 'CronJob') return out;
  for (const c of w.containers) {
    if (c.init) continue;
    const where = (p: (string | number)[]) => ({ file: m.file, ...m.at([...c.path, ...p]) });
    const obs = observedFor(observed, m.name, c.name);
    const readiness = timing(c.spec.readinessProbe);
    const liveness = timing(c.spec.livenessProbe);
    const startup = timing(c.spec.startupProbe);
    const id = `${m.kind} ${m.name}, container ${c.name}`;
    if (!readiness && m.kind !== 'DaemonSet')
      out.push({
        rule: 'K8S-no-readiness',
        severity: 'warning',
        ...where(['name']),
        message: `${id} has no readiness probe: it gets traffic the moment it starts, and a rollout moves on before it can serve`,
        hint: 'add readinessProbe: { httpGet: { path: /health, port: <port> }, periodSeconds: 5 }',
      });
    if (liveness) {
      const killsAt = livenessKillsAt(liveness, startup);
      if (obs?.startupSeconds !== undefined && killsAt < obs.startupSeconds)
        out.push({
          rule: 'K8S-liveness-before-startup',
          severity: 'error',
          ...where(['livenessProbe']),
          message: `${id}: liveness has failed ${liveness.failureThreshold} times ${seconds(killsAt)} after start, but the app takes ${seconds(obs.startupSeconds)} to start (${obs.source}): restart loop`,
          hint: `add a startupProbe with failureThreshold × periodSeconds ≥ ${Math.ceil(obs.startupSeconds * 1.5)} s, or raise livenessProbe.initialDelaySeconds`,
          evidence: [`start-up ${obs.startupSeconds} s (${obs.source})`],
        });
      if (
        readiness &&
        handler(c.spec.livenessProbe) !== null &&
        handler(c.spec.livenessProbe) === handler(c.spec.readinessProbe)
      )
        out.push({
          rule: 'K8S-liveness-equals-readiness',
          severity: 'warning',
          ...where(['livenessProbe']),
          message: `${id}: liveness and readiness both call ${handler(c.spec.livenessProbe)}: when a dependency behind it fails, every pod is restarted instead of taken out of rotation`,
          hint: 'liveness should only check that the process can answer (a /live endpoint with no downstream checks); keep /health for readiness',
        });
      const slow = (obs?.startupSeconds ?? 0) >= SLOW_START || liveness.initialDelaySeconds >= SLOW_START;
      if (slow && !startup)
        out.push({
          rule: 'K8S-no-startup-probe',
          severity: 'warning',
          ...where(['livenessProbe', 'initialDelaySeconds']),
          message: `${id} starts slowly (${obs?.startupSeconds !== undefined ? `${seconds(obs.startupSeconds)} measured, ${obs.source}` : `liveness waits ${liveness.initialDelaySeconds} s`}) and has no startupProbe: a hung process goes unnoticed for the whole delay, and a slower start than the delay restarts it`,
          hint: 'startupProbe: { httpGet: <same as liveness>, periodSeconds: 5, failureThreshold: <start-up ÷ 5 × 1.5> }, and drop liveness initialDelaySeconds to 0',
        });
    }
    if (readiness && obs?.startupSeconds !== undefined) {
      const ready = readySeconds(readiness, startup, obs.startupSeconds);
      const ideal = obs.startupSeconds;
      const waste = ready - ideal;
      if (waste >= 2)
        out.push({
          rule: 'K8S-probe-slows-rollout',
          severity: 'note',
          ...where(['readinessProbe']),
          message: `${id} is up after ${seconds(ideal)} (${obs.source}) but readiness (initialDelaySeconds ${readiness.initialDelaySeconds}, periodSeconds ${readiness.periodSeconds}) reports it at ${seconds(ready)}: ${seconds(waste)} lost per rollout round`,
          hint: `readinessProbe.initialDelaySeconds: ${Math.max(0, Math.floor(ideal) - 1)} with periodSeconds: ${Math.min(readiness.periodSeconds, 2)}`,
          saving: { unit: 'seconds', value: waste, text: `${seconds(waste)} per rollout round` },
        });
    }
  }
  return out;
}
