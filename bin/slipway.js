#!/bin/sh
":" //; s="$0"; [ -L "$s" ] && s=$(readlink -f "$s"); c="${s%/*}/../dist/cli/slipway-client"; [ -x "$c" ] && exec "$c" "$s" "$@"; exec node "$s" "$@"
// Two languages in one file. Executed directly (PATH, npm's .bin link, ./bin/slipway.js), /bin/sh
// runs line 2: the daemon's native client (src/daemon/client.c, compiled at build and install
// time) when there is one, else Node.js on this file. Node.js (`node bin/slipway.js`, or that
// exec) reads line 2 as a string and a comment, and starts here.
//
// CommonJS (bin/package.json), as is what it loads first (dist/cli/launch.cjs): a cold `deploy`
// then never starts Node.js's ES module loader (~4 ms of CPU per start).
//
// The native client hands a command it could not give the daemon to this file with its verdict
// (src/daemon/client.ts, NativeVerdict), which is taken out of the environment before anything
// else can see it.
const tried = process.env.SLIPWAY_DAEMON_TRIED;
delete process.env.SLIPWAY_DAEMON_TRIED;
// A closed pipe (slipway history | head) is not an error.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
const drained = () =>
  Promise.all(
    [process.stdout, process.stderr].map((s) => s.writableLength && new Promise((r) => s.once('drain', r))),
  );
// A `run` or `plan` goes to the checkout's daemon first, when one is running and takes it (a small
// module: nothing heavy loads before this answer); otherwise it runs here as below.
const { viaDaemon, nativeVerdict, coldCli } = require('../dist/cli/launch.cjs');
(async () => {
  const daemon = await viaDaemon(process.argv, nativeVerdict(tried));
  if (daemon.ran) {
    await drained();
    process.exit(daemon.code);
  }
  // A `deploy` run here loads one bundle of the CLI compiled from a V8 code cache, written at its
  // end when there was none (src/cli/cold-start.ts); other commands load the ES modules below.
  const cold = coldCli(process.argv);
  if (cold) {
    // The deploy has awaited all it started: it exits at once (as a `run` does below), which also
    // leaves its history store's write-ahead log, synced, for the next one (store/sqlite-exit.ts).
    await cold.cli.main(process.argv, { ...cold.cli.defaultContext(), processExits: true });
    cold.save();
    // As at the end: a `deploy` the daemon could have served starts one for the next deploy.
    daemon.start?.();
    await drained();
    process.exit();
  } else {
    // The head start: `slipway run` and `plan` read the checkout's ledger and start their read-only
    // probes (git, output stats) first, so their child processes work while the CLI loads.
    const { Prefetch } = await import('../dist/cli/prefetch.js');
    const prefetch = Prefetch.start(process.argv);
    const cli = await import('../dist/cli/main.js');
    await cli.main(process.argv, cli.defaultContext(prefetch));
    // A run has awaited everything it started (tasks, uploads, history, cache housekeeping) before
    // main returns: once the terminal has taken the last line, exit without tearing the heap down
    // piece by piece, which costs a fully cached run ~6% of its time. Other commands (servers,
    // agents) end as Node.js decides.
    if (prefetch.started) {
      // No daemon was running for this checkout: start one now, after the work, for the next command.
      daemon.start?.();
      await drained();
      process.exit();
    }
    // A `deploy` the daemon could have served (none was running): start one for the next deploy.
    daemon.start?.();
  }
})();
