/**
 * What each hash was made of, per task, under `.slipway/cache/manifests/<task>/<hash>.json`.
 * The file's mtime is the last time a run computed that hash, which is the order `why` needs.
 */
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { writeAtomicSync } from '../state/atomic-write.js';
import type { HashManifest } from './hash-manifest.js';
import { taskFileName } from './safe-path.js';

const KEEP_PER_TASK = 30;

export interface SeenHash {
  hash: string;
  /** When a run last computed it, epoch ms. */
  at: number;
}

export class ManifestStore {
  constructor(private readonly dir: string) {}

  #taskDir(taskId: string): string {
    return path.join(this.dir, taskFileName(taskId));
  }

  /** Remembers that a run computed `hash` from `m` just now. */
  record(hash: string, m: HashManifest): void {
    const dir = this.#taskDir(m.taskId);
    const file = path.join(dir, `${hash}.json`);
    if (existsSync(file)) {
      const now = new Date();
      utimesSync(file, now, now);
      return;
    }
    writeAtomicSync(file, JSON.stringify(m));
    this.#trim(m.taskId);
  }

  /** Hashes seen for a task, most recent first. */
  history(id: string): SeenHash[] {
    const dir = this.#taskDir(id);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const out: SeenHash[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        out.push({ hash: n.slice(0, -5), at: statSync(path.join(dir, n)).mtimeMs });
      } catch {
        // Trimmed meanwhile.
      }
    }
    return out.sort((a, b) => b.at - a.at);
  }

  read(id: string, hash: string): HashManifest | undefined {
    try {
      return JSON.parse(readFileSync(path.join(this.#taskDir(id), `${hash}.json`), 'utf8')) as HashManifest;
    } catch {
      return undefined;
    }
  }

  #trim(id: string): void {
    const all = this.history(id);
    for (const old of all.slice(KEEP_PER_TASK)) {
      try {
        unlinkSync(path.join(this.#taskDir(id), `${old.hash}.json`));
      } catch {
        // Already gone.
      }
    }
  }
}
