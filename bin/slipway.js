#!/usr/bin/env node
// A closed pipe (slipway history | head) is not an error.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
// `slipway run` starts its read-only probes (git, output stats) first, so their child processes
// work while the CLI loads.
const { startProbes } = await import('../dist/cli/probe.js');
const probes = startProbes(process.argv);
const cli = await import('../dist/cli/main.js');
await cli.main(process.argv, cli.defaultContext(probes));
