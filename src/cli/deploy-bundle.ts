/**
 * The entry of the cold deploy bundle (scripts/bundle.mjs, cli/cold-start.ts): the CLI's `main`
 * with only the `deploy` command's code, as one CommonJS file compiled from a V8 code cache, and
 * what the loader needs to make that cache at the end.
 */
export { restoreV8Flags } from '../util/v8-flags.js';
export { saveColdChunks } from './cold-chunk.js';
export { reachedDeployment } from './deploy.js';
export { defaultContext, main } from './main.js';
