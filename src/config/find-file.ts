/** Where the pipeline file is when -f is not given: here or in the nearest folder above, as turbo and Nx find their root. */
import { statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_FILE } from './types.js';

/** The nearest `slipway.yml` in `start` or one of its parent folders; undefined when there is none. */
export function findPipelineFile(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const file = path.join(dir, DEFAULT_FILE);
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) return file;
    if (path.dirname(dir) === dir) return undefined;
  }
}
