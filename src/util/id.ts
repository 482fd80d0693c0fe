import { randomBytes } from 'node:crypto';

/** Time-ordered unique id: sortable by creation, short enough to type. */
export function newId(prefix = ''): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
