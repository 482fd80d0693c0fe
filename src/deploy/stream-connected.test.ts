/**
 * A streamed stage's `connected` (stage-stream.ts StreamedTarget): resolved once its request's
 * connection is made, or once its outcome is known when it never connects, so a first contact
 * that waits for it (first-contact.ts, the walk hurrying meanwhile) never waits for ever.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { type StreamClient, StreamedStages } from './stage-stream.js';
import { StreamFeed } from './stream-feed.js';
import { type StreamOutcome, sendStream } from './stream-send.js';
import type { ReleaseId } from './types.js';

const settledSoon = <T>(p: Promise<T>, ms = 1000) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe("a streamed stage's connection", () => {
  it('is heard once the client says its connection is made, before any outcome', async () => {
    const streams = new StreamedStages('/nowhere/', 'v1', DEFAULT_CHUNKING);
    let connect = () => {};
    const client: StreamClient = {
      stageStream: (o) => {
        connect = () => o.onConnected?.();
        return new Promise<StreamOutcome>(() => {});
      },
    };
    streams.start('t1', client, [{ url: 'http://127.0.0.1:1', token: 'x' }]);
    const target = streams.started.get('t1')!;
    expect(await settledSoon(target.connected, 20)).toBe(false);
    connect();
    expect(await settledSoon(target.connected)).toBe(true);
    streams.done();
  });

  it('is over once the outcome is known, for a stream that never connected', async () => {
    const streams = new StreamedStages('/nowhere/', 'v1', DEFAULT_CHUNKING);
    const client: StreamClient = {
      stageStream: async () => ({ kind: 'unsupported', message: 'no streamed stage' }),
    };
    streams.start('t1', client, [{ url: 'http://127.0.0.1:1', token: 'x' }]);
    expect(await settledSoon(streams.started.get('t1')!.connected)).toBe(true);
    streams.done();
  });

  it('is told by sendStream when its socket connects', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(404).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      let connected = 0;
      const feed = new StreamFeed();
      const out = sendStream({
        url: new URL(`http://127.0.0.1:${port}/v1/stage-stream`),
        headers: {},
        header: { protocol: 6, version: 'v1', chunking: DEFAULT_CHUNKING, sources: [] },
        feed,
        onConnected: () => connected++,
      });
      feed.end('v1-000000000000' as ReleaseId);
      expect((await out).kind).toBe('unsupported');
      expect(connected).toBe(1);
    } finally {
      server.close();
    }
  });
});
