/**
 * The places of a streamed stage's files waiting for their chunks (stream-files.ts): file, offset
 * and size per place in flat typed arrays, the places of one chunk chained through `next` (-1
 * ends a chain; `tail` per chain's first place), freed places reused. An array of triples per
 * chunk was 20,000 arrays kept alive (and promoted, and marked) while a first deploy's chunks came.
 */
export class WaitingPlaces {
  file = new Int32Array(1024);
  offset = new Float64Array(1024);
  size = new Int32Array(1024);
  next = new Int32Array(1024);
  /** Per chain's first place: its last (one chunk listed at 10,000 places is not walked each time). */
  tail = new Int32Array(1024);
  #used = 0;
  /** Freed places, chained through `next`. */
  #free = -1;

  /** A new place, alone in its chain. */
  add(f: number, offset: number, size: number): number {
    let g = this.#free;
    if (g !== -1) this.#free = this.next[g]!;
    else {
      if (this.#used === this.file.length) this.#grow();
      g = this.#used++;
    }
    this.file[g] = f;
    this.offset[g] = offset;
    this.size[g] = size;
    this.next[g] = -1;
    this.tail[g] = g;
    return g;
  }

  /** A new place at the end of the chain that starts at `head` (#tail). */
  append(head: number, f: number, offset: number, size: number): void {
    // Added first: adding may grow the arrays (new ones).
    const added = this.add(f, offset, size);
    this.next[this.tail[head]!] = added;
    this.tail[head] = added;
  }

  /** Place g is taken (unchained by the caller): reusable. */
  free(g: number): void {
    this.next[g] = this.#free;
    this.#free = g;
  }

  #grow(): void {
    const n = this.file.length * 2;
    const grown = <T extends Int32Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.file = grown(this.file, new Int32Array(n));
    this.offset = grown(this.offset, new Float64Array(n));
    this.size = grown(this.size, new Int32Array(n));
    this.next = grown(this.next, new Int32Array(n));
    this.tail = grown(this.tail, new Int32Array(n));
  }
}
