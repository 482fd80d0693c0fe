/**
 * Terminal reporter. On a TTY: status lines plus a live view of running tasks (elapsed vs
 * predicted). Without a TTY (CI): every output line prefixed with its task id.
 */

import type { EventStream, RunEvent } from '../events.js';
import { describeFailure } from '../exec/task-failure.js';
import type { Out } from '../util/out.js';
import { formatMs } from '../util/units.js';

const C = {
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  green: (s: string) => `\x1b[32m${s}\x1b[39m`,
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[39m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
};
const PLAIN = Object.fromEntries(Object.keys(C).map((k) => [k, (s: string) => s])) as typeof C;

export interface TerminalOptions {
  out: Out;
  /** Live view and colours; default: out.isTTY. */
  live?: boolean;
  /** Stream task output (default: only without a TTY, or for failed tasks). */
  verbose?: boolean;
}

export function attachTerminalReporter(events: EventStream<RunEvent>, o: TerminalOptions): () => void {
  const live = o.live ?? !!o.out.isTTY;
  const c = live ? C : PLAIN;
  const streamOutput = o.verbose ?? !live;
  const running = new Map<string, { at: number; predictedMs: number }>();
  const partial = new Map<string, string>();
  const buffered = new Map<string, string[]>();
  const width = Math.max(8, ...[]);
  let idWidth = width;
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;

  const clear = () => {
    if (drawn) o.out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (!live) return;
    const now = Date.now();
    const cols = o.out.columns ?? 100;
    const lines = [...running].slice(0, 12).map(([id, r]) => {
      const el = now - r.at;
      const frac = r.predictedMs > 0 ? Math.min(1, el / r.predictedMs) : 0;
      const bar = '█'.repeat(Math.round(frac * 20)).padEnd(20, '░');
      const over = el > r.predictedMs * 1.2 ? c.yellow(' slower than predicted') : '';
      return `  ${c.cyan('●')} ${id.padEnd(idWidth)} ${c.dim(bar)} ${formatMs(el)} / ${formatMs(r.predictedMs)}${over}`.slice(
        0,
        cols + 40,
      );
    });
    if (running.size > 12) lines.push(c.dim(`  … and ${running.size - 12} more`));
    if (lines.length) o.out.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  // Lines printed within one turn of the event loop go out in one write (a fully cached run
  // prints hundreds of lines at once); the live view is redrawn under them.
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    clear();
    if (pending) o.out.write(pending);
    pending = '';
    draw();
  };
  const redraw = () => {
    scheduled ??= setImmediate(flush);
  };
  const print = (text: string) => {
    pending += text.endsWith('\n') ? text : `${text}\n`;
    redraw();
  };
  const flushPartial = (id: string) => {
    const rest = partial.get(id);
    if (rest) print(`${c.dim(`${id} |`)} ${rest}`);
    partial.delete(id);
  };

  const unsubscribe = events.subscribe((e) => {
    switch (e.type) {
      case 'run-started':
        idWidth = Math.min(40, Math.max(8, ...e.tasks.map((t) => t.id.length)));
        print(
          `${c.bold('slipway')} ${e.pipeline}: ${e.tasks.length} tasks, concurrency ${e.concurrency}, predicted ${formatMs(e.predictedMakespanMs)} (lower bound ${formatMs(e.lowerBoundMs)})`,
        );
        if (live) timer = setInterval(flush, 100);
        break;
      case 'task-started':
        running.set(e.taskId, { at: e.at, predictedMs: e.predictedMs });
        if (!live) print(`${c.cyan('▶')} ${e.taskId}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
        else redraw();
        break;
      case 'task-retry':
        print(c.yellow(`↻ ${e.taskId} failed (exit ${e.exitCode}), retrying`));
        break;
      case 'task-output': {
        if (!streamOutput) {
          const b = buffered.get(e.taskId) ?? [];
          b.push(e.text);
          buffered.set(e.taskId, b);
          break;
        }
        const text = (partial.get(e.taskId) ?? '') + e.text;
        const parts = text.split('\n');
        partial.set(e.taskId, parts.pop()!);
        if (parts.length) print(parts.map((l) => `${c.dim(`${e.taskId} |`)} ${l}`).join('\n'));
        break;
      }
      case 'task-finished': {
        running.delete(e.taskId);
        flushPartial(e.taskId);
        const d = formatMs(e.durationMs);
        if (e.status === 'success') {
          const hit = e.cache === 'hit-local' || e.cache === 'hit-remote';
          print(
            hit
              ? `${c.green('✓')} ${e.taskId} ${c.dim(`cache hit (${e.cache === 'hit-local' ? 'local' : 'remote'}), ${d}`)}`
              : `${c.green('✓')} ${e.taskId} ${d} ${c.dim(`(predicted ${formatMs(e.predictedMs)})`)}`,
          );
        } else if (e.status === 'failed') {
          print(
            `${c.red('✗')} ${e.taskId} failed: ${e.failure ? describeFailure(e.failure) : ''} ${c.dim(`after ${d}`)}`,
          );
          const b = buffered.get(e.taskId);
          if (b?.length) {
            const lines = b.join('').split('\n');
            print(
              lines
                .slice(-40)
                .map((l) => `${c.dim(`${e.taskId} |`)} ${l}`)
                .join('\n'),
            );
          }
          if (e.logFile) print(c.dim(`  log: ${e.logFile}`));
        } else {
          print(
            `${c.dim('-')} ${e.taskId} ${e.status}${e.failure ? c.dim(`: ${describeFailure(e.failure)}`) : ''}`,
          );
        }
        buffered.delete(e.taskId);
        break;
      }
      case 'warning':
        print(c.yellow(`⚠ ${e.taskId ? `${e.taskId}: ` : ''}${e.message}`));
        break;
      case 'run-finished':
        if (timer) clearInterval(timer);
        running.clear();
        flush();
        break;
      default:
        break;
    }
  });
  return () => {
    if (timer) clearInterval(timer);
    running.clear();
    flush();
    unsubscribe();
  };
}
