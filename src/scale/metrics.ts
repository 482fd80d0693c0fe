/**
 * Prometheus metrics of scale-out, on the coordinator and on workers (prom-client, one registry
 * per process so nothing leaks into other commands' metrics). The queue gauges are read from
 * Redis at scrape time, so every replica reports the same shared queue: an HPA on an External
 * metric with AverageValue divides it by the replica count itself.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ScaleMetrics {
  registry: Registry;
  finished: Counter<'task'>;
  failed: Counter<'task' | 'reason'>;
  duration: Histogram<'task'>;
  busySlots: Gauge;
}

/** The metrics of one process; `queue` feeds the queue gauges at scrape time. */
export function scaleMetrics(o: { queue?: Queue; busySlots?: () => number }): ScaleMetrics {
  const registry = new Registry();
  const queue = o.queue;
  new Gauge({
    name: 'slipway_queue_length',
    help: 'Jobs waiting in the scale-out queue (not yet taken by a worker)',
    registers: [registry],
    async collect() {
      if (queue) this.set(await waitingJobs(queue).catch(() => 0));
    },
  });
  new Gauge({
    name: 'slipway_queue_oldest_wait_seconds',
    help: 'How long the oldest waiting job has waited',
    registers: [registry],
    async collect() {
      if (!queue) return;
      const [oldest] = await queue.getJobs(['waiting', 'prioritized'], 0, 0, true).catch(() => []);
      this.set(oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
    },
  });
  const busySlots = new Gauge({
    name: 'slipway_worker_busy_slots',
    help: 'Task slots of this worker in use',
    registers: [registry],
    collect() {
      if (o.busySlots) this.set(o.busySlots());
    },
  });
  const duration = new Histogram({
    name: 'slipway_task_duration_seconds',
    help: 'Duration of tasks run on this worker',
    labelNames: ['task'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800],
    registers: [registry],
  });
  const finished = new Counter({
    name: 'slipway_jobs_finished_total',
    help: 'Jobs this process finished successfully',
    labelNames: ['task'],
    registers: [registry],
  });
  const failed = new Counter({
    name: 'slipway_jobs_failed_total',
    help: 'Jobs that ended with a failure, by reason',
    labelNames: ['task', 'reason'],
    registers: [registry],
  });
  return { registry, finished, failed, duration, busySlots };
}

/**
 * Jobs no worker has taken yet. Every job of ours has a priority, and BullMQ keeps those in its
 * `prioritized` set, which its `getWaitingCount()` (the plain `wait` list) leaves out.
 */
export function waitingJobs(queue: Queue): Promise<number> {
  return queue.getJobCountByTypes('waiting', 'prioritized');
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz and /readyz (ready once `ready()` says so) on HOST:PORT (port 0: any). */
export async function serveMetrics(
  listen: string,
  m: ScaleMetrics,
  ready: () => boolean = () => true,
): Promise<MetricsServer> {
  const i = listen.lastIndexOf(':');
  const host = i > 0 ? listen.slice(0, i) : '127.0.0.1';
  const port = Number(i >= 0 ? listen.slice(i + 1) : listen);
  const server = http.createServer((req, res) => {
    const url = req.url?.split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (url === '/metrics') {
      m.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': m.registry.contentType }).end(text),
        (e) => res.writeHead(500).end(String(e)),
      );
    } else if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
