/**
 * Terminal reporter. On a TTY: status lines plus a live view of running tasks (elapsed vs
 * predicted). Without a TTY (CI): a line per task, its output prefixed with its task id. How much
 * task output is shown is each task's `OutputLogs` mode (report/output-logs.ts); on GitHub Actions
 * a task's output is printed as one collapsed log group when it ends, a failed task's in the open.
 */

import type { EventStream, RunEvent } from '../events.js';
import { describeFailure } from '../task-failure.js';
import { stripColour } from '../util/colour.js';
import type { Out } from '../util/out.js';
import { formatMs } from '../util/units.js';
import { defaultOutputLogs, type OutputLogs } from './output-logs.js';

const C = {
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  green: (s: string) => `\x1b[32m${s}\x1b[39m`,
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[39m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
};
const PLAIN = Object.fromEntries(Object.keys(C).map((k) => [k, (s: string) => s])) as typeof C;

/** A failed task shows at most this many of its last lines on a terminal (the log has them all). */
const TAIL_ON_TERMINAL = 40;

export interface TerminalOptions {
  out: Out;
  /** Live view; default: out.isTTY. */
  live?: boolean;
  /** Colour Slipway's own lines; default: the live view's setting (util/colour.ts decides). */
  colour?: boolean;
  /** Remove colour codes from task output (NO_COLOR). */
  stripTaskColour?: boolean;
  /** How much output each task shows; default: `defaultOutputLogs`. */
  outputLogs?: (taskId: string) => OutputLogs;
  /** Print GitHub Actions log groups (`::group::`) and error annotations. */
  github?: boolean;
  /** The environment the default mode is chosen for (CI or not). */
  env?: NodeJS.ProcessEnv;
}

/** GitHub Actions workflow-command escaping (data, and properties such as title). */
const ghData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const ghProp = (s: string) => ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function attachTerminalReporter(events: EventStream<RunEvent>, o: TerminalOptions): () => void {
  const live = o.live ?? !!o.out.isTTY;
  const c = (o.colour ?? live) ? C : PLAIN;
  const fallback = defaultOutputLogs({ live, env: o.env ?? {} });
  const modeOf = o.outputLogs ?? (() => fallback);
  const github = !live && !!o.github;
  const clean = o.stripTaskColour ? stripColour : (s: string) => s;
  const running = new Map<string, { at: number; predictedMs: number }>();
  const partial = new Map<string, string>();
  const buffered = new Map<string, string[]>();
  const hits = new Set<string>();
  let idWidth = 8;
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
  const prefixed = (id: string, lines: readonly string[]) =>
    lines.map((l) => `${c.dim(`${id} |`)} ${l}`).join('\n');
  const flushPartial = (id: string) => {
    const rest = partial.get(id);
    if (rest) print(prefixed(id, [rest]));
    partial.delete(id);
  };
  /** What a task printed, as lines (no empty last line), taken out of the buffer. */
  const takeBuffered = (id: string): string[] => {
    const b = buffered.get(id);
    buffered.delete(id);
    if (!b?.length) return [];
    const lines = b.join('').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  };
  /** How a task's output is handled: dropped, kept until it ends, or printed as it comes. */
  const handling = (id: string): 'drop' | 'buffer' | 'stream' => {
    const m = modeOf(id);
    if (m === 'none' || m === 'hash-only' || (m === 'new-only' && hits.has(id))) return 'drop';
    if (m === 'errors-only') return hits.has(id) ? 'drop' : 'buffer';
    return github ? 'buffer' : 'stream';
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
        // attempt 0 is a cache hit about to be reported: its ✓ line is enough.
        if (!live && e.attempt > 0)
          print(`${c.cyan('▶')} ${e.taskId}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
        else redraw();
        break;
      case 'task-retry':
        print(c.yellow(`↻ ${e.taskId} failed (exit ${e.exitCode}), retrying`));
        break;
      case 'task-output': {
        const how = handling(e.taskId);
        if (how === 'drop') break;
        const text = clean(e.text);
        if (how === 'buffer') {
          const b = buffered.get(e.taskId) ?? [];
          b.push(text);
          buffered.set(e.taskId, b);
          break;
        }
        const parts = ((partial.get(e.taskId) ?? '') + text).split('\n');
        partial.set(e.taskId, parts.pop()!);
        if (parts.length) print(prefixed(e.taskId, parts));
        break;
      }
      case 'cache-hit':
        hits.add(e.taskId);
        break;
      case 'task-finished': {
        running.delete(e.taskId);
        flushPartial(e.taskId);
        hits.delete(e.taskId);
        const d = formatMs(e.durationMs);
        const mode = modeOf(e.taskId);
        const hash = mode === 'hash-only' && e.hash ? c.dim(` hash ${e.hash}`) : '';
        const output = takeBuffered(e.taskId);
        if (e.status === 'success') {
          const hit = e.cache === 'hit-local' || e.cache === 'hit-remote';
          const line = hit
            ? `${c.green('✓')} ${e.taskId} ${c.dim(`cache hit (${e.cache === 'hit-local' ? 'local' : 'remote'}), ${d}`)}${hash}`
            : `${c.green('✓')} ${e.taskId} ${d} ${c.dim(`(predicted ${formatMs(e.predictedMs)})`)}${hash}`;
          // Only GitHub's groups hold back a successful task's output (errors-only drops it).
          if (github && mode !== 'errors-only' && output.length)
            print([`::group::${line}`, ...output, '::endgroup::'].join('\n'));
          else print(line);
        } else if (e.status === 'failed') {
          const why = e.failure ? describeFailure(e.failure) : '';
          print(`${c.red('✗')} ${e.taskId} failed: ${why} ${c.dim(`after ${d}`)}${hash}`);
          // A failure is printed in the open, never folded away: it is what the reader is after.
          if (github) {
            if (output.length) print(output.join('\n'));
            print(`::error title=${ghProp(`${e.taskId} failed`)}::${ghData(why)}`);
          } else if (output.length)
            print(prefixed(e.taskId, live ? output.slice(-TAIL_ON_TERMINAL) : output));
          if (e.logFile) print(c.dim(`  log: ${e.logFile}`));
        } else {
          print(
            `${c.dim('-')} ${e.taskId} ${e.status}${e.failure ? c.dim(`: ${describeFailure(e.failure)}`) : ''}`,
          );
        }
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
