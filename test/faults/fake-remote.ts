/**
 * A hostile Turborepo remote cache (HTTP API v8) on 127.0.0.1, port 0: it answers each artifact
 * with whatever bytes and `x-artifact-tag` a test planted, or cuts the body short, so the client
 * meets the answers a compromised or broken server could give. Uploads are accepted and dropped.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

export interface Planted {
  body: Buffer;
  /** `x-artifact-tag` header, when set. */
  tag?: string;
  /** Announce the whole body, send only this many bytes, then drop the connection. */
  cutAt?: number;
}

export interface FakeRemote {
  url: string;
  /** Requests seen, as "METHOD /path". */
  requests: string[];
  plant(hash: string, answer: Planted): void;
  close(): Promise<void>;
}

/** Starts the server; unknown artifacts are 404, as on a real server. */
export async function startFakeRemote(): Promise<FakeRemote> {
  const planted = new Map<string, Planted>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}`);
    req.resume();
    const m = /^\/v8\/artifacts\/([^/]+)$/.exec(url.pathname);
    const answer = m ? planted.get(decodeURIComponent(m[1] as string)) : undefined;
    if (req.method === 'PUT' && m) {
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end('{"urls":[]}');
      });
      return;
    }
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !answer) {
      res.statusCode = 404;
      res.end('{"error":"not found"}');
      return;
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('content-length', String(answer.body.length));
    if (answer.tag !== undefined) res.setHeader('x-artifact-tag', answer.tag);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (answer.cutAt === undefined) {
      res.end(answer.body);
      return;
    }
    // Headers and part of the body, then the connection drops mid-body.
    res.write(answer.body.subarray(0, answer.cutAt), () => res.socket?.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    plant: (hash, answer) => planted.set(hash, answer),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
