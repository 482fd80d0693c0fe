/**
 * OpenTelemetry export end to end: `slipway run` with OTEL_EXPORTER_OTLP_ENDPOINT set sends each
 * run to a local OTLP/HTTP receiver (JSON) as one trace: the run as the root span, every task a
 * child of it with its cache status, hash, CPU seconds and peak memory. The receiver also checks
 * the OTEL_EXPORTER_OTLP_HEADERS header arrives.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: OtlpValue }[];
}
interface OtlpBody {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

function attr(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return (
    v.stringValue ??
    (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
    v.doubleValue ??
    v.boolValue
  );
}

describe('OpenTelemetry traces', () => {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const auth: (string | undefined)[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.method === 'POST') {
        auth.push(req.headers['x-slipway-test']?.toString());
        const parsed = JSON.parse(body) as OtlpBody;
        for (const rs of parsed.resourceSpans) {
          for (const a of rs.resource.attributes)
            if (a.key === 'service.name') services.add(a.value.stringValue ?? '');
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  let endpoint = '';
  let w: Workspace;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    w = workspace(
      pipelineYaml(
        {
          gen: { run: 'cat src.txt > out.txt', inputs: ['src.txt'], outputs: ['out.txt'] },
          build: {
            run: 'cat out.txt > built.txt',
            needs: ['gen'],
            inputs: ['out.txt'],
            outputs: ['built.txt'],
          },
          lint: { run: 'true', inputs: ['src.txt'] },
        },
        { name: 'traced' },
      ),
    );
    w.write('src.txt', 'source\n');
  });
  afterAll(() => {
    server.close();
    w?.cleanup();
  });

  it('exports each run as a trace with a span per task', async () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-slipway-test=yes%21',
    };
    expect((await w.run(['run'], { env })).code).toBe(0);
    expect((await w.run(['run'], { env })).code).toBe(0);
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => s.name)).toEqual(['run traced', 'run traced']);
    expect(services).toEqual(new Set(['slipway']));
    expect(auth.every((a) => a === 'yes!')).toBe(true);
    for (const [i, root] of roots.entries()) {
      const children = spans.filter((s) => s.parentSpanId === root.spanId);
      expect(children.map((s) => s.name).sort()).toEqual(['task build', 'task gen', 'task lint']);
      expect(children.every((s) => s.traceId === root.traceId)).toBe(true);
      for (const c of children) {
        // Children lie inside the run.
        expect(BigInt(c.startTimeUnixNano) >= BigInt(root.startTimeUnixNano)).toBe(true);
        expect(BigInt(c.endTimeUnixNano) <= BigInt(root.endTimeUnixNano)).toBe(true);
        expect(attr(c, 'slipway.task.cache')).toBe(i === 0 ? 'miss' : 'hit-local');
        expect(String(attr(c, 'slipway.task.hash'))).toMatch(/^[0-9a-f]{16,}$/);
        expect(typeof attr(c, 'slipway.task.cpu_seconds')).toBe('number');
        expect(typeof attr(c, 'slipway.task.peak_memory_bytes')).toBe('number');
      }
      expect(attr(root, 'slipway.run.status')).toBe('success');
    }
    expect(roots[0]!.traceId).not.toBe(roots[1]!.traceId);
  });
});
