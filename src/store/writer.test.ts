import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePipeline } from '../config/load.js';
import { EventStream, type RunEvent } from '../events.js';
import type { Store } from './store.js';
import { attachStoreWriter } from './writer.js';

const pipeline = parsePipeline(
  'slipway.yml',
  '/tmp/x/slipway.yml',
  'version: 1\nname: demo\ntasks:\n  a: { run: "true" }\n',
);

/** A store whose only table records each batch it is given. */
function recordingStore() {
  const batches: { newRuns: unknown[]; taskRuns: unknown[] }[] = [];
  const store = { runs: { write: async (b: (typeof batches)[number]) => void batches.push(b) } };
  return { store: store as unknown as Store, batches };
}

function runStarted(events: EventStream<RunEvent>): void {
  events.emit({
    type: 'run-started',
    runId: 'r1',
    pipeline: 'demo',
    at: 1_000,
    tasks: [{ id: 'a', predictedMs: 100, predictedStartMs: 0, cpu: 1, memory: 0 }],
    concurrency: 1,
    capacity: { slots: 1, cpu: 1, memory: 1e9 },
    predictedMakespanMs: 100,
    lowerBoundMs: 100,
    criticalPath: ['a'],
    argv: ['run'],
  });
}

describe('attachStoreWriter', () => {
  afterEach(() => vi.useRealTimers());

  it('writes at once on flush(), also when flushed in the same turn as the event', async () => {
    vi.useFakeTimers();
    const { store, batches } = recordingStore();
    const events = new EventStream<RunEvent>();
    const writer = attachStoreWriter(store, events, pipeline);
    runStarted(events);
    // Before the batch window's timer exists: the window must not be waited out.
    let flushed = false;
    void writer.flush().then(() => {
      flushed = true;
    });
    // Settles promises only; the batch window's timer never fires.
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(true);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.newRuns).toHaveLength(1);
    expect(batches[0]!.taskRuns).toHaveLength(1);
  });

  it('batches events within the window when nobody flushes', async () => {
    vi.useFakeTimers();
    const { store, batches } = recordingStore();
    const events = new EventStream<RunEvent>();
    attachStoreWriter(store, events, pipeline);
    runStarted(events);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toHaveLength(0);
    events.emit({ type: 'task-started', runId: 'r1', taskId: 'a', at: 1_001, attempt: 1, predictedMs: 100 });
    await vi.runAllTimersAsync();
    expect(batches).toHaveLength(1);
  });
});
