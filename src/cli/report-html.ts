/** `slipway report --html FILE`: writes the self-contained dashboard file atomically. */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Pipeline } from '../config/types.js';
import { loadAssets } from '../dashboard/assets.js';
import { renderHtmlReport } from '../dashboard/static-report.js';
import type { Store } from '../store/store.js';
import type { CliContext } from './context.js';
import { UsageError } from './context.js';

export async function writeHtmlReport(
  ctx: CliContext,
  store: Store,
  pipeline: Pipeline,
  file: string,
): Promise<number> {
  const assets = loadAssets();
  if (!assets)
    throw new UsageError(
      'the dashboard front end is not built (dist/dashboard is missing)',
      'run npm run build',
    );
  const html = await renderHtmlReport(store, { pipeline, assets });
  const target = path.resolve(file);
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, html);
    renameSync(tmp, target);
  } catch (e) {
    throw new UsageError(
      `cannot write --html ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      'choose a file in a folder that exists and that you can write',
    );
  }
  ctx.stdout.write(`wrote ${file} (${Math.round(Buffer.byteLength(html) / 1024)} KB)\n`);
  return 0;
}
