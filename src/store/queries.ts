/** Assembles a store's typed queries over one connection; only the history writes differ by backend. */
import type { Kysely } from 'kysely';
import { appValidationQueries } from './app-validations.js';
import { dashboardQueries } from './dashboard-queries.js';
import { transferQueries } from './deploy-transfers.js';
import { deploymentQueries } from './deployments.js';
import { findingQueries } from './findings.js';
import type { HistoryWrites } from './history-batch.js';
import { leaseQueries } from './leases.js';
import { queueSampleQueries } from './queue-samples.js';
import { runQueries } from './runs.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

export function storeOver(
  db: Kysely<Database>,
  o: { kind: 'sqlite' | 'postgres'; location: string; history: HistoryWrites },
): Store {
  return {
    location: o.location,
    runs: runQueries(db, o.kind, o.history),
    deployments: deploymentQueries(db),
    transfers: transferQueries(db),
    appValidations: appValidationQueries(db),
    leases: leaseQueries(db),
    findings: findingQueries(db),
    queueSamples: queueSampleQueries(db),
    dashboard: dashboardQueries(db, o.kind),
    close: () => db.destroy(),
  };
}
