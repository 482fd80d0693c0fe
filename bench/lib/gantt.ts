/** A text Gantt chart of a measured schedule: one line per busy slot, critical tasks drawn as #. */
import type { ScheduledTask } from './runners.js';

/**
 * Packs tasks into lanes (first lane free at the task's start) and draws each lane `width` columns
 * wide over [0, spanMs]: `#` for tasks in `highlight`, `=` for others, `.` for idle.
 */
export function gantt(
  tasks: readonly ScheduledTask[],
  highlight: ReadonlySet<string>,
  spanMs: number,
  width = 72,
): string[] {
  const lanes: { freeAt: number; cells: string[] }[] = [];
  const col = (ms: number) => Math.min(width, Math.max(0, Math.round((ms / spanMs) * width)));
  for (const t of [...tasks].sort((a, b) => a.startMs - b.startMs)) {
    // A few ms of slack: one task's end and the next one's start are stamped by different clocks.
    let lane = lanes.find((l) => l.freeAt <= t.startMs + 5);
    if (!lane) {
      lane = { freeAt: 0, cells: Array.from({ length: width }, () => '.') };
      lanes.push(lane);
    }
    lane.freeAt = t.endMs;
    const mark = highlight.has(t.id) ? '#' : '=';
    const from = col(t.startMs);
    const to = Math.max(from + 1, col(t.endMs));
    for (let c = from; c < to && c < width; c++) lane.cells[c] = mark;
    if (from < width && to - from > 2) lane.cells[from] = '|';
  }
  return lanes.map((l, i) => `  slot ${i + 1} ${l.cells.join('')}`);
}
