/**
 * Deploy traffic (the deployer's calls to agents, an agent's chunk fetches from an origin or a
 * relay) over `node:http` rather than the global `fetch`: `fetch`
 * loads undici (its module graph and a WebAssembly HTTP parser) on first use, 30-40 ms of CPU and
 * about 50 ms of wall at the start of every deploy, which an unchanged redeploy (a few hundred
 * milliseconds in all) feels. Calls to agents are small JSON bodies and one streamed answer; they
 * need nothing undici adds.
 *
 * One connection per call, closed after it (`Connection: close`), as a deploy makes few calls
 * (a status, a stage, an activation; a chunk fetch per 4 MiB batch): a kept-alive connection can
 * be closed by its server while the client is still reading the last answer (the server's idle
 * timer starts when it has written the answer, and a loaded agent reads megabytes of it later),
 * and the next call sent on it fails with "socket hang up" (the bench's six-agent fan-out failed
 * that way with kept-alive connections). A new loopback or LAN connection costs a fraction of a
 * millisecond.
 */
import http, { type IncomingMessage } from 'node:http';

export interface HttpCall {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Aborts the whole exchange, answer included. */
  signal?: AbortSignal;
  /** Gives up on the whole exchange (answer included) after this long. */
  timeoutMs?: number;
  /** Hears when the whole request has been handed to the kernel (before any answer). */
  onSent?: () => void;
}

/**
 * Sends one request; resolves with the answer once its head arrived (read its body as a stream,
 * or with `bodyText`). Rejects on network trouble, abort or timeout, with the reason as `cause`.
 */
export async function httpCall(url: URL, call: HttpCall): Promise<IncomingMessage> {
  const signals = [
    call.signal,
    call.timeoutMs === undefined ? undefined : AbortSignal.timeout(call.timeoutMs),
  ];
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  const signal = live.length > 1 ? AbortSignal.any(live) : live[0];
  signal?.throwIfAborted();
  const request = url.protocol === 'https:' ? (await import('node:https')).request : http.request;
  const body = call.body === undefined ? undefined : Buffer.from(call.body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      method: call.method,
      headers: body ? { ...call.headers, 'content-length': String(body.length) } : call.headers,
      signal,
    });
    req.once('response', resolve);
    req.once('error', reject);
    if (call.onSent) req.once('finish', call.onSent);
    req.end(body);
  });
}

/** The whole body of an answer as UTF-8 text. */
export async function bodyText(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** What a refusing answer says: its JSON `error`, else the start of its body. */
export async function refusalText(res: IncomingMessage): Promise<string> {
  const text = await bodyText(res).catch(() => '');
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof error === 'string') return error;
  } catch {}
  return text.slice(0, 200);
}

/** Whether an answer's status is a success (2xx), as `Response.ok` says. */
export function isOk(res: IncomingMessage): boolean {
  const s = res.statusCode ?? 0;
  return s >= 200 && s < 300;
}

/** The lines of an answer's body (NDJSON), each as it arrives; a last line may lack its newline. */
export async function* answerLines(res: IncomingMessage): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const piece of res as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(piece, { stream: true });
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
  }
  if (pending) yield pending;
}
