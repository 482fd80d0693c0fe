/** Replaces secret values in task output with ***, including across chunk boundaries of a line. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const values = secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  if (!values.length) return (t) => t;
  const re = new RegExp(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return (t) => t.replace(re, '***');
}
