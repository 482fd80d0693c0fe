/**
 * Everything that listens to one run, attached in one place: the reporters the caller chose (the
 * terminal, at the CLI), the summary collector and the history writer. The run itself only emits;
 * it asks this for the summary and for the history to be committed.
 */
import type { Pipeline } from '../config/types.js';
import { EventStream, type RunEvent } from '../events.js';
import { type RunSummary, SummaryCollector } from '../report/summary.js';
import type { Store } from '../store/store.js';
import { attachStoreWriter } from '../store/writer.js';

/** A subscriber chosen at the edge; returns its unsubscribe. */
export type RunReporter = (events: EventStream<RunEvent>) => () => void;

export interface RunSubscribers {
  /** The run's one event stream (the cache's warnings go here too). */
  readonly events: EventStream<RunEvent>;
  /** The summary, built only from the events; complete after `run-finished`. */
  summary(): RunSummary;
  /** Resolves when every history write so far is committed; rejects with the first write error. */
  flush(): Promise<void>;
  /** Unsubscribes the reporters and the history writer. */
  detach(): void;
}

/** Makes a run's event stream and subscribes the summary, the history writer (with a store) and `reporters`. */
export function attachRunSubscribers(o: {
  pipeline: Pipeline;
  store?: Store;
  reporters?: readonly RunReporter[];
}): RunSubscribers {
  const events = new EventStream<RunEvent>();
  const detachReporters = (o.reporters ?? []).map((attach) => attach(events));
  const collector = new SummaryCollector(events);
  const writer = o.store ? attachStoreWriter(o.store, events, o.pipeline) : undefined;
  return {
    events,
    summary: () => collector.summary(),
    flush: async () => writer?.flush(),
    detach: () => {
      writer?.unsubscribe();
      for (const d of detachReporters) d();
    },
  };
}
