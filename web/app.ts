/** The dashboard's front end: a tiny router over the pages; every page draws from JSON. */

import { here, isStatic, NotFound } from './api.js';
import { h, mount } from './dom.js';
import { capacityPage } from './pages/capacity.js';
import { deploymentPage } from './pages/deployment.js';
import { deploymentsPage } from './pages/deployments.js';
import { overviewPage } from './pages/overview.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';
import { slisPage } from './pages/slis.js';
import { taskPage } from './pages/task.js';
import { windowsPage } from './pages/windows.js';

/** A page draws itself and may return a function that stops its live updates. */
export type Page = (url: URL) => Promise<(() => void) | undefined>;

const routes: [RegExp, (m: RegExpExecArray) => Page][] = [
  [/^\/$/, () => overviewPage],
  [/^\/runs$/, () => runsPage],
  [/^\/runs\/([^/]+)$/, (m) => (u) => runPage(decodeURIComponent(m[1]!), u)],
  [/^\/task$/, () => taskPage],
  [/^\/deployments$/, () => deploymentsPage],
  [/^\/deployments\/([^/]+)$/, (m) => () => deploymentPage(decodeURIComponent(m[1]!))],
  [/^\/slis$/, () => slisPage],
  [/^\/capacity$/, () => capacityPage],
  [/^\/windows$/, () => windowsPage],
];

let stop: (() => void) | undefined;

async function route(): Promise<void> {
  stop?.();
  stop = undefined;
  const url = here();
  for (const [re, page] of routes) {
    const m = re.exec(url.pathname);
    if (!m) continue;
    try {
      stop = await page(m)(url);
    } catch (e) {
      mount(
        h('h1', {}, e instanceof NotFound ? 'Not found' : 'Error'),
        h('p', { class: 'muted' }, String((e as Error).message)),
      );
    }
    return;
  }
  mount(h('h1', {}, 'Not found'));
}

if (isStatic) {
  document.body.classList.add('static');
  window.addEventListener('hashchange', () => void route());
}
void route();
