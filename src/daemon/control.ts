/** `slipway daemon status|stop|start`: ask a checkout's daemon about itself, or start one and wait for it. */
import net from 'node:net';
import { spawnDaemon } from './client.js';
import { type ControlRequest, type DaemonStatus, Frame, frameReader } from './protocol.js';
import { socketPath } from './socket-path.js';

/** The daemon's answer to `kind`; undefined when no daemon listens for this checkout. */
export function askDaemon(root: string, kind: ControlRequest['kind']): Promise<DaemonStatus | undefined> {
  const sock = socketPath(root);
  if (!sock) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const c = net.connect(sock);
    const timer = setTimeout(() => c.destroy(), 5000);
    c.on('connect', () => c.write(`${JSON.stringify({ kind })}\n`));
    c.on(
      'data',
      frameReader((type, payload) => {
        if (type === Frame.reply) resolve(JSON.parse(payload.toString()) as DaemonStatus);
      }),
    );
    c.on('error', () => {});
    c.on('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/** Starts the checkout's daemon (unless one runs) and waits until it answers; its status, or undefined. */
export async function startDaemon(root: string, env: NodeJS.ProcessEnv): Promise<DaemonStatus | undefined> {
  const running = await askDaemon(root, 'status');
  if (running) return running;
  spawnDaemon(root, env);
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
    const status = await askDaemon(root, 'status');
    if (status) return status;
  }
  return undefined;
}

/** Stops the checkout's daemon and waits until its socket is gone; what it was, or undefined. */
export async function stopDaemon(root: string): Promise<DaemonStatus | undefined> {
  const was = await askDaemon(root, 'stop');
  if (!was) return undefined;
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    if (!(await askDaemon(root, 'status'))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return was;
}
