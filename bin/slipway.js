#!/usr/bin/env node
// A closed pipe (slipway history | head) is not an error.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
import('../dist/cli/main.js').then((m) => m.main(process.argv));
