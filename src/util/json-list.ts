/** A JSON array of strings stored as text (argv, critical path, tags): [] when absent or not an array. */
export function jsonList(text: string | null): string[] {
  if (!text) return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}
