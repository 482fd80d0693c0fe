/** How each of `ps` has settled, 'pending', 'resolved' or 'rejected', once the queued callbacks ran. */
export async function states(ps: Promise<unknown>[]): Promise<string[]> {
  const out = ps.map(() => 'pending');
  for (const [i, p] of ps.entries()) {
    p.then(
      () => {
        out[i] = 'resolved';
      },
      () => {
        out[i] = 'rejected';
      },
    );
  }
  await new Promise((r) => setImmediate(r));
  return out;
}
