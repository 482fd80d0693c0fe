/** The autoscaling replay (hpa-replay.ts) as report lines. */
import type { HpaRules } from './hpa.js';
import type { AutoscaleReplay } from './hpa-replay.js';

/** Changes of the worker count shown before the rest is summed up. */
const SHOWN = 12;

const rules = (r: HpaRules) =>
  `${r.policies.map((p) => `${p.value}${p.type === 'Percent' ? '%' : ' pods'} per ${p.periodSeconds}s`).join(' or ')} after a ${r.stabilizationWindowSeconds}s window`;

const time = (iso: string) => iso.slice(11, 19);

const gib = (bytes: number) => `${+(bytes / 1024 ** 3).toFixed(1)} GiB`;

const span = (hours: number) =>
  hours < 1
    ? `${Math.max(1, Math.round(hours * 60))} min`
    : hours < 48
      ? `${hours.toFixed(1)} h`
      : `${(hours / 24).toFixed(1)} days`;

export function autoscalingLines(a: AutoscaleReplay | null): string[] {
  if (!a) return [];
  const h = a.hpa;
  const resources = [
    h.cpu ? `CPU ${h.cpu.targetUtilization}% of ${h.cpu.request} core` : undefined,
    h.memory ? `memory ${h.memory.targetUtilization}% of ${gib(h.memory.request)}` : undefined,
  ].filter(Boolean);
  const out = [
    '',
    `Autoscaling replay (${a.runs} --queue run${a.runs === 1 ? '' : 's'}, ${a.samples} queue samples, ${a.tasks} task records, through the chart's HPA: queue ÷ ${h.targetAverageValue} per worker${resources.length ? `, ${resources.join(', ')} per worker (the largest proposal wins)` : ''}, ${h.minReplicas}-${h.maxReplicas} workers, up ${rules(h.scaleUp)}, down ${rules(h.scaleDown)}, every ${h.syncPeriodSeconds}s)`,
  ];
  const changes = a.timeline.map((c, i) => {
    const why = [c.waiting ? `queue ${c.waiting}` : '', i > 0 && c.by !== 'queue' ? `by ${c.by}` : '']
      .filter(Boolean)
      .join(', ');
    return `${time(c.at)} ${c.replicas}${why ? ` (${why})` : ''}`;
  });
  out.push(
    `  workers (UTC): ${changes.slice(0, SHOWN).join(' → ')}${changes.length > SHOWN ? ` → … ${changes.length - SHOWN} more changes` : ''}`,
    `  peak ${a.peakReplicas} worker${a.peakReplicas === 1 ? '' : 's'} (queue peaked at ${a.peakWaiting}${a.tasks ? `, the tasks at ${+a.peakCpu.toFixed(1)} cores and ${gib(a.peakMemory)}` : ''}); ${a.workerHours.toFixed(1)} worker-hours over ${span(a.window.hours)}`,
    `  wait it would have caused: ${(a.waitJobSeconds / 60).toFixed(1)} job-minutes of ready or running work without a started worker (at most ${a.peakShortfall} jobs at once; a new worker takes ${a.workerStartSeconds} s to start, --worker-start)`,
    `  cost: ${a.costPerMonth.toFixed(2)} per month at ${a.price.perWorkerHour} per worker-hour (${a.price.from === 'default' ? 'default; set --cost-per-worker-hour' : a.price.from})`,
  );
  return out;
}
