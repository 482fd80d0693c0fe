/**
 * The agent's folder: releases/<id>/, manifests/<id>.json, chunks/pack-*.bin, staging/<id>/ (a
 * release being staged, its manifest beside it as staging/<id>.json), current -> releases/<id>.
 */
import path from 'node:path';
import type { ReleaseId } from '../types.js';

export class Layout {
  constructor(readonly root: string) {}
  get releases(): string {
    return path.join(this.root, 'releases');
  }
  get manifests(): string {
    return path.join(this.root, 'manifests');
  }
  get pool(): string {
    return path.join(this.root, 'chunks');
  }
  /** Releases being staged: received chunks are written straight into their files here. */
  get staging(): string {
    return path.join(this.root, 'staging');
  }
  stagingDir(id: ReleaseId): string {
    return path.join(this.staging, id);
  }
  stagingManifest(id: ReleaseId): string {
    return path.join(this.staging, `${id}.json`);
  }
  get current(): string {
    return path.join(this.root, 'current');
  }
  /** Removed releases on their way out (renamed here, then deleted in the background). */
  get trash(): string {
    return path.join(this.root, 'trash');
  }
  get state(): string {
    return path.join(this.root, 'state.json');
  }
  get appLog(): string {
    return path.join(this.root, 'app.log');
  }
  release(id: ReleaseId): string {
    return path.join(this.releases, id);
  }
  manifest(id: ReleaseId): string {
    return path.join(this.manifests, `${id}.json`);
  }
}
