import type { Logger } from 'pino';
import { busPiiScanner } from '../../../platform/bus/pii-scanner.js';
import type { Bus } from '../../../platform/bus/port.js';
import type { EventStore } from '../../../platform/event-store/event-store.js';
import { eventStorePiiScanner } from '../../../platform/event-store/pii-scanner.js';
import type { KeyStore } from '../../../platform/pii/key-store.js';
import { deriveSubkey } from '../../../platform/pii/master-key.js';
import type { PersonalDataScanner } from '../../../platform/pii/scanner.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openKeyStoreSql, openPii } from '../../../platform/pii/open.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';
import { projectorErasureWait } from '../../../projections/erasure-wait.js';
import type { ProjectionStatus } from '../../../projections/kernel/status.js';
import { postgresProjections } from '../../../projections/postgres/index.js';
import { postgresPiiScanners, postgresSubjectRows } from '../../../projections/postgres/pii-scanner.js';
import { DEFAULT_RETENTION, retentionCandidates } from '../../../projections/postgres/retention.js';
import type { WriteSideConfig } from '../../../write-side/config.js';
import { openEventStore } from '../../../write-side/event-store.js';
import { sqlErasureRecords } from '../../../write-side/gdpr/certificates.js';
import type { RetentionSettings } from '../../../write-side/gdpr/retention.js';
import { runRetention } from '../../../write-side/gdpr/retention.js';
import type { GdprDeps } from '../../../write-side/gdpr/routes.js';
import { createErasureWorkflow, GDPR_VALUE_HASH_LABEL } from '../../../write-side/gdpr/workflow.js';

/**
 * The GDPR wiring of a write side (issue 10), written once for both composition roots that serve erasure:
 * `annals start` (one process) and `annals write-side` (the standalone service). The write side may not
 * import projections/ or the bus, so a root hands it the erasure workflow built here with every store's
 * scanner and the wait for the projectors.
 *
 * The wait reads the projectors' DURABLE progress (their checkpoints and offsets in the read database's
 * control tables, `projectionStatus`), never a projector object in this process: the same function serves a
 * root that runs the projectors and one whose projectors run in another service.
 */
export interface GdprWiringDeps {
  readonly config: Pick<WriteSideConfig, 'piiMasterKey' | 'pii'>;
  readonly logger: Logger;
  readonly eventStore: EventStore;
  readonly keyStore: KeyStore;
  /** Where the key tables live; the erasure records (certificates) are kept beside them. */
  readonly keySql: SqlClient;
  /** The read database: the PostgreSQL read models (scanned, exported, due for retention) and the control tables. */
  readonly readSql: SqlClient;
  /** The bus the relay publishes to (scanned from the subject's partitions). */
  readonly bus: Bus;
  /** Scanners of the other stores the read models live in (search, analytics), chosen by the root's configuration. */
  readonly extraScanners?: readonly PersonalDataScanner[];
  /** Status of every projector whose store is scanned, from the read database (checkpoints, offsets). */
  readonly projectorStatus: () => Promise<ProjectionStatus[]>;
  readonly retention: RetentionSettings;
  /** Bound of the wait for the projectors after the erasure events (default: the workflow's, 30 s). */
  readonly projectorTimeoutMs?: number;
}

export interface GdprWiring {
  /** For `createWriteSide({ gdpr })`: the routes' workflow, certificates, export rows and retention. */
  readonly deps: GdprDeps;
  /** Continues erasures a crash interrupted (in the background) and starts the retention schedule. */
  start(): void;
  /** Stops the retention schedule and waits for a run in flight. */
  stop(): Promise<void>;
}

export async function createGdprWiring(d: GdprWiringDeps): Promise<GdprWiring> {
  const { readSql, logger } = d;
  const records = await sqlErasureRecords(d.keySql);
  const workflow = createErasureWorkflow({
    store: d.eventStore,
    keyStore: d.keyStore,
    records,
    scanners: [eventStorePiiScanner(d.eventStore), busPiiScanner(d.bus), ...postgresPiiScanners(readSql, postgresProjections), ...(d.extraScanners ?? [])],
    waitForProjectors: projectorErasureWait(d.projectorStatus),
    hashKey: deriveSubkey(d.config.piiMasterKey, GDPR_VALUE_HASH_LABEL),
    clock: () => new Date(),
    log: logger.child({ component: 'gdpr' }),
    keyCacheTtlMs: d.config.pii.cacheTtlMs,
    ...(d.projectorTimeoutMs !== undefined ? { projectorTimeoutMs: d.projectorTimeoutMs } : {}),
  });
  const { perTenant, intervalMs } = d.retention;
  const deps: GdprDeps = {
    workflow,
    records,
    subjectRows: postgresSubjectRows(readSql, postgresProjections),
    // `annals gdpr retention run` (POST /api/v1/gdpr/retention/run): the caller's tenant, the same policies.
    retention: {
      due: (tenantId: string, now: Date) => retentionCandidates(readSql, { now, perTenant, tenantId }),
      policyOf: (tenantId: string) => perTenant[tenantId] ?? DEFAULT_RETENTION,
    },
  };

  // Retention policies (SPEC: GDPR): the same erasure, automatically, every GDPR_RETENTION_INTERVAL_MS.
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return; // a run longer than the interval is not overlapped by the next
    running = runRetention({
      workflow,
      due: () => retentionCandidates(readSql, { now: new Date(), perTenant }),
      log: logger.child({ component: 'gdpr-retention' }),
      clock: () => new Date(),
    })
      .catch((err: unknown) => logger.warn({ err }, 'gdpr retention: run failed; the next run retries'))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    deps,
    start() {
      // An erasure a crash interrupted continues now (in the background: start-up does not wait for it).
      void workflow
        .resumePending()
        .then((n) => n > 0 && logger.info({ resumed: n }, 'gdpr: unfinished erasures completed'))
        .catch((err: unknown) => logger.warn({ err }, 'gdpr: could not resume unfinished erasures; the next start retries'));
      if (intervalMs > 0 && !timer) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

/**
 * The stores every root that writes opens first, in this order: the read database (READ_DB_URL, else the
 * embedded DATA_DIR/read), the PII key tables (KEYSTORE_URL, else the read database's own client), then the
 * event store with the GDPR codec, which refuses a store holding the other form of personal data (plaintext
 * written before, or ciphertext with PII_ENCRYPTION=off). On failure everything opened is closed again and
 * the error is rethrown for the root to report (exit 78).
 */
export async function openWriteStores(config: WriteSideConfig, applicationName: string): Promise<{ readSql: SqlClient; keySql: SqlClient; eventStore: EventStore; keyStore: KeyStore; closeSql: () => Promise<void> }> {
  const readDbUrl = config.readDbUrl;
  if (!readDbUrl) await mkdir(join(config.dataDir, 'read'), { recursive: true });
  const readSql = readDbUrl ? pgClient(readDbUrl, { applicationName }) : pgliteClient(await openPglite(join(config.dataDir, 'read')));
  // (pii.keyStoreUrl is KEYSTORE_URL, else READ_DB_URL: the latter is the read database's own client.)
  const keyStoreUrl = config.pii.keyStoreUrl !== readDbUrl ? config.pii.keyStoreUrl : undefined;
  let keySql = readSql;
  const closeSql = async () => {
    if (keySql !== readSql) await keySql.close();
    await readSql.close();
  };
  try {
    if (keyStoreUrl) keySql = await openKeyStoreSql(keyStoreUrl, join(config.dataDir, 'read'), `${applicationName}-keystore`);
    const pii = await openPii(keySql, {
      masterKey: config.piiMasterKey,
      previousMasterKeys: config.pii.previousMasterKeys,
      cacheTtlMs: config.pii.cacheTtlMs,
      cacheSize: config.pii.cacheSize,
    });
    const eventStore = await openEventStore(config.eventStore, { encryption: { codec: config.pii.encryption ? pii.codec : undefined } });
    return { readSql, keySql, eventStore, keyStore: pii.keyStore, closeSql };
  } catch (err) {
    await closeSql().catch(() => undefined);
    throw err;
  }
}
