/**
 * Plain string order by UTF-16 code unit: for ASCII (git's paths, ISO timestamps, task ids) the
 * same as byte order, and far cheaper than localeCompare, which goes through ICU.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
