/** Ports for test servers. */
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux): an app port is bound
 * only when a release is activated, seconds later, and a port the kernel just handed out and
 * took back could meanwhile become any process's port 0 or outgoing connection (a parallel test
 * file's server, a database client), which then answers this test's health checks. Each vitest
 * worker draws from its own band, so parallel files do not pick the same port either.
 */
const handedOut = new Set<number>();
export async function freePort(): Promise<number> {
  const band = (Number(process.env.VITEST_POOL_ID ?? 0) % 8) * 1500;
  for (let i = 0; i < 100; i++) {
    const port = 20000 + band + Math.floor(Math.random() * 1500);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port in 20000-31999');
}

async function bindable(port: number): Promise<boolean> {
  const srv = createServer();
  srv.listen(port, '127.0.0.1');
  const ok = await Promise.race([
    once(srv, 'listening').then(() => true),
    once(srv, 'error').then(() => false),
  ]);
  if (ok) await new Promise((r) => srv.close(r));
  return ok;
}
