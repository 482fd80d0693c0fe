/** Pipeline objects for unit tests. */
import type { TaskConfig } from '../../src/config/types.js';

/** A task with every field at its default; `over` sets the ones a test cares about. */
export function taskConfig(over: Partial<TaskConfig> = {}): TaskConfig {
  return {
    id: 't',
    run: 'true',
    cwd: '/tmp',
    needs: [],
    outputs: [],
    env: {},
    secrets: [],
    retries: 0,
    cache: true,
    tags: [],
    ...over,
  };
}
