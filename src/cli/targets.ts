/** The `--filter` option of every command that takes task names (resolved by graph/targets.ts). */
export const filterOption = [
  '--filter <pattern>',
  'workspace packages: web, web... (with dependencies), ...web (with dependents), @scope/*, ./apps/* (repeatable)',
  (v: string, prev: string[]) => [...prev, v],
  [] as string[],
] as const;
