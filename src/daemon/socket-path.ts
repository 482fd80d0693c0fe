/**
 * Where a checkout's daemon listens: `.slipway/daemon.sock`, or, when that path is longer than a
 * unix socket address may be (108 bytes on Linux, 104 on macOS), a name hashed from the checkout
 * in a private folder of the temporary directory (mode 0700, owned by this user: nobody else can
 * reach, replace or pre-create the socket there).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { daemonSocketFile } from '../state/paths.js';

/** The longest socket path every supported platform accepts (sun_path less its terminator). */
const MAX_SOCKET_PATH = 103;

/**
 * The socket path of the checkout at `root`; undefined when the private folder it needs is not
 * private (another owner, wider mode, a symlink), in which case there is no daemon.
 */
export function socketPath(root: string, o: { create?: boolean } = {}): string | undefined {
  const local = daemonSocketFile(root);
  if (Buffer.byteLength(local) <= MAX_SOCKET_PATH) return local;
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(os.tmpdir(), `slipway-daemon-${uid}`);
  if (o.create) mkdirSync(dir, { mode: 0o700, recursive: true });
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st && (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0)) return undefined;
  const name = createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 24);
  return path.join(dir, `${name}.sock`);
}
