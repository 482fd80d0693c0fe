/**
 * One long series analysed in a fresh process, so its time and peak memory are its own:
 * `node dist/bench/analytics-scale-child.js FILE` reads {"z": [...]} and prints
 * {"indexes": [...], "ms": n, "maxRssBytes": n}.
 */
import { readFileSync } from 'node:fs';
import { detectChangePoints } from '../src/analyze/change-points.js';

const file = process.argv[2];
if (!file) throw new Error('usage: analytics-scale-child.js FILE');
const { z } = JSON.parse(readFileSync(file, 'utf8')) as { z: number[] };
const started = performance.now();
const cps = detectChangePoints(z);
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ indexes: cps.map((c) => c.index), ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
);
