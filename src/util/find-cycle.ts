/** Cycle detection that returns the whole cycle, e.g. ['a', 'b', 'c', 'a']. */

/** The first cycle found (deterministic: nodes visited in sorted order), or undefined. */
export function findCycle(
  nodes: Iterable<string>,
  edges: (node: string) => readonly string[],
): string[] | undefined {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  const sorted = [...nodes].sort();
  for (const n of sorted) color.set(n, WHITE);

  for (const start of sorted) {
    if (color.get(start) !== WHITE) continue;
    // Iterative DFS so deep chains cannot overflow the stack.
    const stack: { node: string; next: number }[] = [{ node: start, next: 0 }];
    const onPath: string[] = [start];
    color.set(start, GREY);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const out = edges(top.node);
      if (top.next < out.length) {
        const m = out[top.next++]!;
        const c = color.get(m);
        if (c === undefined) continue; // unknown nodes are reported elsewhere
        if (c === GREY) return [...onPath.slice(onPath.indexOf(m)), m];
        if (c === WHITE) {
          color.set(m, GREY);
          stack.push({ node: m, next: 0 });
          onPath.push(m);
        }
      } else {
        color.set(top.node, BLACK);
        stack.pop();
        onPath.pop();
      }
    }
  }
  return undefined;
}
