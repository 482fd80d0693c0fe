/**
 * Test proxies: passes one request on to `target` and its answer back, as it came. `body` when
 * the proxy has already read the request (to look at it or hold it); else the request is piped.
 */
import { type IncomingMessage, request, type ServerResponse } from 'node:http';

export function forward(
  target: { hostname: string; port: string | number },
  req: IncomingMessage,
  res: ServerResponse,
  body?: Buffer,
): void {
  const out = request(
    { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('error', () => res.destroy());
  // A client that breaks its request off (a deployer stopping a stream) breaks the proxied one
  // off too, as its TCP connection would without a proxy: piping alone left the agent's request
  // open, waiting for the rest of a body that never came (its stream folder kept until then).
  req.on('close', () => {
    if (!req.complete) out.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) out.destroy();
  });
  if (body) out.end(body);
  else req.pipe(out);
}
