/**
 * What deploy tests build around an agent: an environment of one region (every target in it, one
 * wave, no bake, the origin on 127.0.0.1 port 0) and a proxy in front of an agent that plays an
 * older one (routes it answers 404), records each request and counts the bytes a TCP proxy would.
 */
import { createServer, request } from 'node:http';
import type { Environment, HealthConfig, Target } from '../../src/deploy/environment.js';
import { forward } from './forward.js';
import type { TestServers } from './http-servers.js';

/** A health check that decides on the first answer: tests poll a local server that answers at once. */
export const QUICK_HEALTH: HealthConfig = {
  path: '/',
  intervalMs: 10,
  timeoutMs: 1000,
  successes: 1,
  failures: 1,
  inconclusive: 3,
  errors: 3,
  deadlineMs: 5000,
  successStatus: [200],
};

/** One region `r1` with a target `t<n>` per agent URL, all unavailable at once if need be. */
export function oneRegionEnvironment(o: {
  name: string;
  artifact: string;
  token: string;
  agentUrls: string[];
  /** Each target's health URL; with it, the environment checks health (`QUICK_HEALTH`). */
  healthUrl?: string;
  stageParallelism?: number;
  minSamples?: number;
}): Environment {
  const targets: Target[] = o.agentUrls.map((agentUrl, i) => ({
    name: `t${i + 1}`,
    region: 'r1',
    agentUrl,
    token: o.token,
    env: {},
    ...(o.healthUrl ? { healthUrl: o.healthUrl } : {}),
  }));
  return {
    name: o.name,
    artifact: o.artifact,
    env: {},
    keepReleases: 2,
    relay: false,
    origin: { host: '127.0.0.1', port: 0 },
    waves: [['r1']],
    bakeMs: 0,
    minSamples: o.minSamples ?? 1,
    stageParallelism: o.stageParallelism ?? 2,
    regions: [{ name: 'r1', traffic: 1, maxUnavailable: Math.max(1, targets.length), targets }],
    ...(o.healthUrl ? { health: QUICK_HEALTH } : {}),
  };
}

export interface AgentProxy {
  url: string;
  /** `METHOD /route` of each request, in order. */
  asked: string[];
  /** Bytes of requests and answers (heads and bodies) of connections closed since the last reset. */
  bytes(): number;
  reset(): void;
}

/**
 * A proxy to the agent at 127.0.0.1:`port`, started with `servers`. It answers the `missing`
 * routes with 404, as an agent from before them does, and with `cut` lets that request reach the
 * agent but breaks the connection instead of passing its answer on. The `reset` routes get no
 * answer: their connection is reset while the request streams, as an older agent's 404 to a long
 * request can be lost behind its closed connection.
 */
export async function agentProxy(
  servers: TestServers,
  port: number,
  o: { missing?: string[]; cut?: string; reset?: string[] } = {},
): Promise<AgentProxy> {
  const inner = { hostname: '127.0.0.1', port };
  const asked: string[] = [];
  let bytes = 0;
  const proxy = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (o.missing?.includes(req.url ?? '')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    if (o.reset?.includes(req.url ?? '')) {
      req.once('data', () => req.socket.resetAndDestroy());
      return;
    }
    if (o.cut === req.url) {
      const out = request({ ...inner, path: req.url, method: req.method, headers: req.headers }, (up) => {
        up.resume().on('end', () => res.destroy());
      });
      req.pipe(out);
      return;
    }
    forward(inner, req, res);
  });
  const url = await servers.listen(proxy);
  proxy.on('connection', (socket) => {
    socket.on('close', () => {
      bytes += socket.bytesRead + socket.bytesWritten;
    });
  });
  return {
    url,
    asked,
    bytes: () => bytes,
    reset: () => {
      asked.length = 0;
      bytes = 0;
    },
  };
}
