/**
 * Where pages get their data: the server's JSON API, or, in a `slipway report --html` file, the
 * responses embedded in the page (keyed by the same API paths), with hash routes instead of paths.
 */
let embedded: Record<string, unknown> | undefined;
const node = document.getElementById('slipway-data');
if (node?.textContent) embedded = JSON.parse(node.textContent) as Record<string, unknown>;

/** True in a self-contained report file (no server, no live updates). */
export const isStatic = embedded !== undefined;

export class NotFound extends Error {}

/** GETs an API path (with its query) as JSON. */
export async function api<T>(path: string): Promise<T> {
  if (embedded) {
    if (!(path in embedded)) throw new NotFound(`not in this report: ${path}`);
    return embedded[path] as T;
  }
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (res.status === 404) throw new NotFound((await res.json().catch(() => ({}))).error ?? 'not found');
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** POSTs JSON with the token the user gave (kept for this browser tab only). */
export async function post<T>(path: string, body: unknown, token: string): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json as T;
}

/** The href of an in-app page ("/runs/r1" or, in a report file, "#/runs/r1"). */
export function href(path: string): string {
  return embedded ? `#${path}` : path;
}

/** The current in-app location (path and query). */
export function here(): URL {
  const raw = embedded ? location.hash.replace(/^#/, '') || '/' : `${location.pathname}${location.search}`;
  return new URL(raw, 'http://x');
}

/** Subscribes to a Server-Sent Events stream; returns a function that closes it. */
export function live<T>(path: string, on: (data: T, done: boolean) => void): () => void {
  if (embedded) return () => {};
  const es = new EventSource(path);
  const indicator = document.getElementById('live-indicator');
  indicator?.setAttribute('class', 'live-on');
  const handle = (done: boolean) => (e: MessageEvent<string>) => {
    on(JSON.parse(e.data) as T, done);
    if (done) close();
  };
  es.addEventListener('update', handle(false) as EventListener);
  es.addEventListener('done', handle(true) as EventListener);
  const close = () => {
    es.close();
    indicator?.setAttribute('class', 'live-off');
  };
  return close;
}
