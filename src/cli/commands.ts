/** Every command, in the order `slipway --help` lists them. Add one line per command file. */
import type { Command } from 'commander';
import { register as agent } from './agent.js';
import { register as cache } from './cache.js';
import { register as check } from './check.js';
import type { CliContext } from './context.js';
import { register as deploy } from './deploy.js';
import { register as deployments } from './deployments.js';
import { register as graph } from './graph.js';
import { register as history } from './history.js';
import { register as plan } from './plan.js';
import { register as regressions } from './regressions.js';
import { register as report } from './report.js';
import { register as rollback } from './rollback.js';
import { register as run } from './run.js';
import { register as validate } from './validate.js';
import { register as why } from './why.js';

export type Register = (program: Command, ctx: CliContext) => void;

export const commands: Register[] = [run, plan, graph, history, validate, why, cache, report, regressions, check, deploy, rollback, deployments, agent];
