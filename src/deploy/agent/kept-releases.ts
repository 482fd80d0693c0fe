/**
 * The releases an agent keeps, as staging, pruning, activation and status share them: one object
 * passed to each, so none reaches into another's fields to learn what is kept.
 */
import type { Manifest } from '../manifest.js';
import type { ReleaseId } from '../types.js';
import type { FileIndex } from './file-index.js';

export interface KeptReleases {
  /** The manifest of each kept release. */
  readonly manifests: Map<ReleaseId, Manifest>;
  /** Releases sharing the folder of another kept release (twins.ts): twin -> owner of the folder. */
  readonly twins: Map<ReleaseId, ReleaseId>;
  /** The files of the kept releases, rebuilt after every change to `manifests`. */
  readonly files: FileIndex;
}
