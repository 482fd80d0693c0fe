/**
 * Where `slipway serve` listens: `--listen HOST:PORT` (default 127.0.0.1:7300). Loopback unless
 * told otherwise; any other address needs a token, or anyone who reaches it could act.
 */
import { isIP } from 'node:net';
import { err, ok, type Result } from '../util/result.js';
import { UsageError } from '../util/usage-error.js';

export interface ListenAddress {
  host: string;
  port: number;
  loopback: boolean;
}

export const DEFAULT_LISTEN = '127.0.0.1:7300';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Parses `HOST:PORT`, `[v6]:PORT` or `:PORT` (loopback). */
export function parseListen(value: string): Result<ListenAddress, UsageError> {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535))
    return err(
      new UsageError(
        `bad --listen "${value}"`,
        'write HOST:PORT, e.g. 127.0.0.1:7300 (port 0 picks a free port and prints it)',
      ),
    );
  const host = m[1] ?? (m[2] || '127.0.0.1');
  if (host !== 'localhost' && !isIP(host) && !/^[A-Za-z0-9.-]+$/.test(host))
    return err(new UsageError(`bad --listen host "${host}"`, 'write an IP address or a host name'));
  return ok({ host, port, loopback: isLoopback(host) });
}
