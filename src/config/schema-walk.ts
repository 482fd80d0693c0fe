/** Finds the object shape of a zod schema at a data path, for "did you mean" on unknown keys. */
import type * as z from 'zod';

type Def = {
  type: string;
  shape?: Record<string, unknown>;
  valueType?: unknown;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  options?: unknown[];
};

const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } })?._zod?.def;

function unwrap(s: unknown): unknown {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = defOf(cur);
    if (!d) return cur;
    if (d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault')
      cur = d.innerType;
    else if (d.type === 'pipe') cur = d.in;
    else return cur;
  }
  return cur;
}

/** The shape (key -> schema) of the object schema at `path`, if there is one. */
export function schemaAt(
  schema: z.ZodType,
  path: readonly (string | number)[],
): Record<string, unknown> | undefined {
  let cur: unknown = unwrap(schema);
  for (const seg of path) {
    const d = defOf(cur);
    if (!d) return undefined;
    if (d.type === 'object') cur = unwrap(d.shape?.[String(seg)]);
    else if (d.type === 'record') cur = unwrap(d.valueType);
    else if (d.type === 'array') cur = unwrap(d.element);
    else return undefined;
  }
  const d = defOf(cur);
  return d?.type === 'object' ? d.shape : undefined;
}
