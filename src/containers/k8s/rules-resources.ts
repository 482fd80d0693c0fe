/** Resource rules: requests and limits, against observed use when it is known (VPA-style). */
import type { ContainerFinding } from '../findings.js';
import { bytes } from '../format.js';
import { type Observations, observedFor } from './observed.js';
import { cpuMillis, memBytes } from './quantity.js';
import { get, obj, type Workload } from './workloads.js';

/** VPA's recommender: target = percentile × (1 + safety margin 15%). */
const MARGIN = 1.15;

export function resourceRules(w: Workload, observed: Observations): ContainerFinding[] {
  const out: ContainerFinding[] = [];
  const m = w.manifest;
  const replicas =
    typeof get(m.data, ['spec', 'replicas']) === 'number' ? (get(m.data, ['spec', 'replicas']) as number) : 1;
  for (const c of w.containers) {
    const where = (p: (string | number)[]) => ({ file: m.file, ...m.at([...c.path, ...p]) });
    const id = `${m.kind} ${m.name}, ${c.init ? 'init ' : ''}container ${c.name}`;
    const res = obj(c.spec.resources);
    const req = obj(res.requests);
    const lim = obj(res.limits);
    if (c.init && Object.keys(res).length === 0) {
      out.push({
        rule: 'K8S-init-no-resources',
        severity: 'warning',
        ...where(['name']),
        message: `${id} has no resources: the pod's effective request is the larger of init and app containers, so the scheduler cannot place it well`,
        hint: 'give the init container requests (and a memory limit) sized to what it runs',
      });
      continue;
    }
    const missing = ['cpu', 'memory'].filter((k) => req[k] === undefined);
    if (missing.length && !c.init)
      out.push({
        rule: 'K8S-missing-requests',
        severity: 'warning',
        ...where(res.requests ? ['resources', 'requests'] : c.spec.resources ? ['resources'] : ['name']),
        message: `${id} has no ${missing.join(' or ')} request: it is scheduled as if it needed nothing, and evicted first (BestEffort/Burstable)`,
        hint: `resources.requests.${missing[0]}: <observed p90 × 1.15>`,
      });
    if (lim.memory === undefined)
      out.push({
        rule: 'K8S-missing-memory-limit',
        severity: 'warning',
        ...where(res.limits ? ['resources', 'limits'] : res.requests ? ['resources', 'requests'] : ['name']),
        message: `${id} has no memory limit: a leak takes the node's memory from its neighbours`,
        hint: 'resources.limits.memory: the observed peak + headroom (for Node.js, set --max-old-space-size below it)',
      });
    const obs = observedFor(observed, m.name, c.name);
    const cpuLimit = cpuMillis(lim.cpu);
    if (cpuLimit !== null && !c.init) {
      const busy = obs?.cpuPeak ?? obs?.cpuP90;
      const hot = busy !== undefined && busy >= 0.8 * cpuLimit;
      out.push({
        rule: 'K8S-cpu-limit-throttle',
        severity: hot ? 'warning' : 'note',
        ...where(['resources', 'limits', 'cpu']),
        message: hot
          ? `${id} uses up to ${Math.round(busy!)}m CPU (${obs!.source}) against a ${cpuLimit}m limit: CFS throttling stretches its latency and its start-up`
          : `${id} has a ${cpuLimit}m CPU limit: the CFS quota throttles it even on an idle node (start-up, GC bursts)`,
        hint: 'drop the CPU limit and keep the request (memory is the limit that protects neighbours), or raise it above the observed peak',
      });
    }
    const memLimit = memBytes(lim.memory);
    if (obs?.memoryPeak !== undefined && memLimit !== null && memLimit < obs.memoryPeak)
      out.push({
        rule: 'K8S-memory-limit-under-peak',
        severity: 'error',
        ...where(['resources', 'limits', 'memory']),
        message: `${id}: memory limit ${bytes(memLimit)} is under the observed peak ${bytes(obs.memoryPeak)} (${obs.source}): OOM kills`,
        hint: `resources.limits.memory: ${mi(obs.memoryPeak * MARGIN)}`,
      });
    if (obs && !c.init) {
      const cpuReq = cpuMillis(req.cpu);
      const memReq = memBytes(req.memory);
      const recCpu = obs.cpuP90 !== undefined ? Math.max(10, Math.ceil(obs.cpuP90 * MARGIN)) : null;
      const recMem = obs.memoryPeak !== undefined ? obs.memoryPeak * MARGIN : null;
      const parts: string[] = [];
      let saved = 0;
      if (recCpu !== null && cpuReq !== null && (cpuReq > 2 * recCpu || cpuReq < recCpu / 1.5)) {
        parts.push(`cpu ${cpuReq}m → ${recCpu}m`);
        saved += Math.max(0, cpuReq - recCpu) * replicas;
      }
      if (recMem !== null && memReq !== null && (memReq > 2 * recMem || memReq < obs.memoryPeak! / 1.5))
        parts.push(`memory ${bytes(memReq)} → ${mi(recMem)}`);
      if (parts.length)
        out.push({
          rule: 'K8S-request-vs-usage',
          severity: 'warning',
          ...where(['resources', 'requests']),
          message: `${id}: requests are far from observed use (${obs.source}); recommended ${parts.join(', ')}`,
          hint: 'VPA-style target: p90 CPU × 1.15 and peak memory × 1.15',
          ...(saved > 0
            ? {
                saving: {
                  unit: 'share' as const,
                  value: saved / 1000,
                  text: `${(saved / 1000).toFixed(2)} CPU cores reserved less across ${replicas} replicas`,
                },
              }
            : {}),
        });
    }
    const image = String(c.spec.image ?? '');
    const tag = /:([^:/@]+)$/.exec(image)?.[1];
    const latest = !image.includes('@') && (tag === undefined || tag === 'latest');
    const policy = c.spec.imagePullPolicy as string | undefined;
    if (image && latest && (policy === undefined || policy === 'Always'))
      out.push({
        rule: 'K8S-latest-pull-always',
        severity: 'warning',
        ...where(['image']),
        message: `${id} runs ${image}${policy ? ' with imagePullPolicy Always' : ' (latest: imagePullPolicy defaults to Always)'}: every pod start pulls, rollouts wait on the registry, and pods of one Deployment can run different builds`,
        hint: 'deploy an immutable tag or digest (myapp:1.4.2 or myapp@sha256:…) and imagePullPolicy: IfNotPresent',
      });
  }
  return out;
}

function mi(b: number): string {
  return `${Math.ceil(b / 1024 ** 2)}Mi`;
}
