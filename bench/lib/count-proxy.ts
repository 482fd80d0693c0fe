/**
 * A TCP proxy on 127.0.0.1 that counts the bytes crossing it both ways. Both tools of the
 * deploy-vs-rsync bench talk through one, so "bytes" means the same thing for each: everything
 * on the wire (requests, answers, checksums, headers), not a tool's own account of itself.
 */
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface CountingProxy {
  url: string;
  port: number;
  /** Bytes in both directions since the last reset. */
  readonly bytes: number;
  reset(): void;
  close(): Promise<void>;
}

function logBytes(label: string, dir: string, n: number): void {
  const logFile = process.env.SLIPWAY_BENCH_BYTES_LOG_NOW;
  if (logFile) appendFileSync(logFile, `${label}\t${dir}\t${n}\n`);
}

/** Forwards every connection to `127.0.0.1:targetPort`, counting bytes in both directions. */
export async function countingProxy(targetPort: number, scheme = 'http'): Promise<CountingProxy> {
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    // SLIPWAY_BENCH_BYTES_LOG_NOW=file (set by the bench per deploy): appends, per request line seen, the bytes each way that
    // followed it on its connection (keep-alive requests are sequential), for a breakdown.
    let label = '?';
    client.on('data', (d: Buffer) => {
      bytes += d.length;
      const m = /^(GET|POST|PUT|DELETE|HEAD) (\S+)/.exec(d.subarray(0, 200).toString('latin1'));
      if (m) label = `${m[1]} ${m[2]!.replace(/[0-9a-f]{16,}/g, ':id')}`;
      logBytes(label, 'up', d.length);
    });
    upstream.on('data', (d: Buffer) => {
      bytes += d.length;
      logBytes(label, 'down', d.length);
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    get bytes() {
      return bytes;
    },
    reset() {
      bytes = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port free a moment ago (for servers that cannot report the port they bound: rsync's daemon). */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
