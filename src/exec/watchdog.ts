/**
 * The watchdog: a tiny `sh` process that outlives slipway by a moment, so that whatever kills
 * slipway (kill -9, the OOM killer, a crash) the task process groups it started die with it.
 * slipway holds the write end of a pipe to the watchdog's stdin and tells it each group it starts
 * (`+ <pgid>`) and each that has ended (`- <pgid>`). When slipway dies the kernel closes the
 * pipe; the watchdog reads end-of-file and sends SIGTERM to every group still listed, then
 * SIGKILL after about a second to those still there: every task process is gone within ~1 s.
 *
 * It is started lazily, when the first task process starts, so a fully cached run never pays
 * for it; it runs in its own session (a terminal's Ctrl-C to slipway's group does not reach it)
 * and holds none of slipway's output streams (a caller reading slipway's stdout sees it end
 * when slipway ends). `sh` rather than a second Node.js: it costs a millisecond, not a heap.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

// $0 names it in `ps` (and for tests): "slipway-watchdog <slipway pid>".
const SCRIPT = `
live=
while read -r op pg; do
  case $op in
    +) live="$live $pg" ;;
    -) n=; for p in $live; do [ "$p" = "$pg" ] || n="$n $p"; done; live=$n ;;
  esac
done
[ -n "$live" ] || exit 0
for p in $live; do kill -s TERM -- "-$p" 2>/dev/null; done
i=0
while [ $i -lt 10 ]; do
  n=; for p in $live; do kill -s 0 -- "-$p" 2>/dev/null && n="$n $p"; done
  live=$n
  [ -n "$live" ] || exit 0
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
for p in $live; do kill -s KILL -- "-$p" 2>/dev/null; done
`;

/** The name the watchdog shows as $0 (its command line ends with it and slipway's pid). */
const WATCHDOG_NAME = 'slipway-watchdog';

export class Watchdog {
  #child: ChildProcess | undefined;
  #broken = false;

  /** Kill group `pgid` if slipway dies before `unwatch(pgid)`. */
  watch(pgid: number): void {
    this.#send(`+ ${pgid}\n`);
  }

  /** The group has ended: forget it (its id may be reused by an unrelated group later). */
  unwatch(pgid: number): void {
    if (this.#child) this.#send(`- ${pgid}\n`);
  }

  /** Lets the watchdog exit (every watched group must have been unwatched). */
  close(): void {
    this.#child?.stdin?.end();
    this.#child = undefined;
  }

  #send(line: string): void {
    const stdin = this.#start()?.stdin;
    if (stdin?.writable) stdin.write(line);
  }

  #start(): ChildProcess | undefined {
    if (this.#child || this.#broken) return this.#child;
    const child = spawn('/bin/sh', ['-c', SCRIPT, WATCHDOG_NAME, String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // Neither the watchdog nor its pipe may keep slipway's event loop alive.
    child.unref();
    (child.stdin as Socket | null)?.unref();
    child.on('error', () => {
      // No /bin/sh: runs still work, only the crash guarantee is lost (records on disk remain).
      this.#broken = true;
      this.#child = undefined;
    });
    child.stdin?.on('error', () => {});
    this.#child = child;
    return child;
  }
}
