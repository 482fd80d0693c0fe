/**
 * Versioned migrations, applied in name order and recorded by Kysely's migrator. Append only:
 * never edit one that has shipped; add a new file and list it here.
 */
import type { Migration } from 'kysely';
import * as core from './001-core.js';
import * as analytics from './020-analytics.js';
import * as deploy from './030-deploy.js';
import * as recent from './040-recent-executions.js';
import * as dropTaskIndex from './050-drop-task-index.js';
import * as deployLeases from './060-deploy-leases.js';
import * as taskFailure from './070-task-failure.js';
import * as resourceMetrics from './090-resource-metrics.js';
import * as queueSamples from './100-queue-samples.js';

export const migrations: Record<string, Migration> = {
  '001-core': core,
  '020-analytics': analytics,
  '030-deploy': deploy,
  '040-recent-executions': recent,
  '050-drop-task-index': dropTaskIndex,
  '060-deploy-leases': deployLeases,
  '070-task-failure': taskFailure,
  '090-resource-metrics': resourceMetrics,
  '100-queue-samples': queueSamples,
};
