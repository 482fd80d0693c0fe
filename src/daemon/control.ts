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

/**
 * Starts the checkout's daemon (unless one runs) and waits until it has a spare ready, so the
 * next command is served at full speed; its status, or undefined when it did not come up.
 */
export async function startDaemon(root: string, env: NodeJS.ProcessEnv): Promise<DaemonStatus | undefined> {
  let status = await askDaemon(root, 'status');
  if (!status) spawnDaemon(root, env);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    status = await askDaemon(root, 'status');
    if (status && (status.ready > 0 || status.served > 0)) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
  return status;
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
