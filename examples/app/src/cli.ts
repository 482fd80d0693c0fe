/** tally [--top N] [--all] [--stats] [FILE]: reads FILE (or stdin) and prints the most frequent words. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { countWords, top } from './count.js';
import { renderStats, renderTop } from './format.js';
import { textStats } from './stats.js';
import { words } from './tokenize.js';

/** Runs the CLI on `argv` (without node and script) and returns what to print and the exit code. */
export function run(argv: string[], readStdin: () => string): { out: string; code: number } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    return {
      out: `tally: ${e instanceof Error ? e.message : String(e)}\nusage: tally [--top N] [--all] [--stats] [FILE]`,
      code: 2,
    };
  }
  const { values, positionals } = parsed;
  const n = Number(values.top);
  if (!Number.isInteger(n) || n < 1)
    return { out: `tally: --top wants a positive integer, got "${values.top}"`, code: 2 };
  const file = positionals[0];
  let text: string;
  try {
    text = file === undefined || file === '-' ? readStdin() : readFileSync(file, 'utf8');
  } catch (e) {
    return { out: `tally: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, code: 1 };
  }
  const table = renderTop(top(countWords(words(text), { all: values.all }), n));
  return { out: values.stats ? `${renderStats(textStats(text))}\n\n${table}` : table, code: 0 };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      top: { type: 'string', short: 'n', default: '10' },
      all: { type: 'boolean', default: false },
      stats: { type: 'boolean', default: false },
    },
  });
}

// Only act as a program when run directly, so tests can import run().
const entry = process.argv[1] ?? '';
if (entry.endsWith('cli.js') || entry.endsWith('tally.mjs')) {
  const { out, code } = run(process.argv.slice(2), () => readFileSync(0, 'utf8'));
  (code === 0 ? process.stdout : process.stderr).write(`${out}\n`);
  process.exitCode = code;
}
