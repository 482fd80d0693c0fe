/** One tally of finished tasks for the end-of-run line, the summary's cache block and history. */
import { describe, expect, it } from 'vitest';
import { addTask, countTasks, NO_TASKS } from '../../src/task-counts.js';

describe('countTasks', () => {
  it('counts each status and cache outcome once', () => {
    const c = countTasks([
      { status: 'success', cache: 'hit-local' },
      { status: 'success', cache: 'hit-remote' },
      { status: 'success', cache: 'miss' },
      { status: 'failed', cache: 'miss' },
      { status: 'skipped', cache: 'disabled' },
      { status: 'cancelled', cache: 'miss' },
    ]);
    expect(c).toEqual({
      success: 3,
      failed: 1,
      skipped: 1,
      cancelled: 1,
      hitsLocal: 1,
      hitsRemote: 1,
      misses: 3,
    });
  });

  it('adds without changing what it was given', () => {
    const one = addTask(NO_TASKS, { status: 'failed', cache: 'miss' });
    expect(NO_TASKS.failed).toBe(0);
    expect(countTasks([])).toEqual(NO_TASKS);
    expect(addTask(one, { status: 'failed', cache: 'miss' }).failed).toBe(2);
  });
});
