/** Deployment ids: sortable by time, unique. */
import { randomBytes } from 'node:crypto';

/** A sortable, unique deployment id. */
export function newDeploymentId(): string {
  return `d-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
