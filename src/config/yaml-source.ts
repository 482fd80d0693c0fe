/** YAML parsing that keeps source positions, so every diagnostic can point at file:line:col. */
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  visit,
} from 'yaml';
import type { Diagnostic, SourceLocation } from './diagnostic.js';

export interface YamlSource {
  doc: Document.Parsed;
  data: unknown;
  locate(path: readonly (string | number)[], which?: 'key' | 'value'): SourceLocation;
  errors: Diagnostic[];
}

export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });

  const at = (offset: number, length = 1): SourceLocation => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, col: p.col, length };
  };

  const locate = (path: readonly (string | number)[], which: 'key' | 'value' = 'value'): SourceLocation => {
    let node: unknown = doc.contents;
    let best: SourceLocation = at(0);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) return best;
        const key = pair.key as Node;
        if (key.range) best = at(key.range[0], key.range[1] - key.range[0]);
        if (last && which === 'key') return best;
        node = pair.value;
        const v = node as Node | null;
        if (v?.range)
          best = at(
            v.range[0],
            Math.max(1, Math.min(v.range[1], nextNewline(text, v.range[0])) - v.range[0]),
          );
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) return best;
        if (item.range) best = at(item.range[0], item.range[1] - item.range[0]);
        node = item;
      } else {
        return best;
      }
    }
    return best;
  };

  const errors: Diagnostic[] = doc.errors.map((e) => {
    const quote =
      e.code === 'MISSING_CHAR' && /quote/i.test(e.message)
        ? openQuote(text, e.pos[0], e.message)
        : undefined;
    const loc = quote !== undefined ? at(quote, 1) : at(e.pos[0], Math.max(1, e.pos[1] - e.pos[0]));
    if (e.code === 'DUPLICATE_KEY') {
      // The parser points at the first character of the second key only: name the whole key,
      // underline all of it, and say where the first one is.
      const dup = duplicateKeyAt(doc, e.pos[0]);
      const key = dup ? dup.name : text.slice(e.pos[0], e.pos[1]).trim() || 'key';
      const where = dup ? at(dup.range[0], dup.range[1] - dup.range[0]) : loc;
      const first = dup?.first !== undefined ? ` (first defined on line ${at(dup.first).line})` : '';
      const underTasks = isInside(doc, ['tasks'], e.pos[0]);
      return underTasks
        ? {
            location: where,
            message: `duplicate task id "${key}"${first}`,
            hint: 'each task id may appear once under tasks:; rename one of them or merge them',
          }
        : {
            location: where,
            message: `duplicate key "${key}"${first}`,
            hint: 'each key may appear once in a mapping',
          };
    }
    return {
      location: loc,
      message: `YAML syntax error: ${e.message.split('\n')[0]}`,
      hint: 'check indentation (spaces, not tabs), colons after keys, and closing quotes or brackets',
    };
  });

  return { doc, data: errors.length ? undefined : doc.toJS(), locate, errors };
}

/** Offset of the quote left open before `end` (the parser reports the end of the file instead). */
function openQuote(text: string, end: number, message: string): number | undefined {
  const q = message.includes("'") && !message.includes('"') ? "'" : '"';
  let offset = 0;
  for (const line of text.slice(0, end).split('\n')) {
    let open = -1;
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\\' && q === '"') i++;
      else if (line[i] === '#' && open < 0 && (i === 0 || line[i - 1] === ' ')) break;
      else if (line[i] === q) open = open < 0 ? i : -1;
    }
    if (open >= 0) return offset + open;
    offset += line.length + 1;
  }
  return undefined;
}

function nextNewline(text: string, from: number): number {
  const i = text.indexOf('\n', from);
  return i < 0 ? text.length : i;
}

function isInside(doc: Document.Parsed, path: string[], offset: number): boolean {
  const node = doc.getIn(path, true) as Node | undefined;
  return !!node?.range && offset >= node.range[0] && offset <= node.range[2];
}

/** The key starting at `offset` that repeats an earlier key of its mapping, with that earlier key's offset. */
function duplicateKeyAt(
  doc: Document.Parsed,
  offset: number,
): { name: string; range: [number, number]; first?: number } | undefined {
  let found: { name: string; range: [number, number]; first?: number } | undefined;
  visit(doc, {
    Map(_, map) {
      const pair = map.items.find((p: Pair) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (!pair || !isScalar(pair.key) || !pair.key.range) return undefined;
      const name = String(pair.key.value);
      const earlier = map.items.find((p: Pair) => isScalar(p.key) && String(p.key.value) === name);
      const first = earlier && isScalar(earlier.key) ? earlier.key.range?.[0] : undefined;
      found = {
        name,
        range: [pair.key.range[0], pair.key.range[1]],
        ...(first !== undefined && first !== offset ? { first } : {}),
      };
      return visit.BREAK;
    },
  });
  return found;
}
