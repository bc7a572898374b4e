import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError, int, parseEnv, SharedEnv, type Env } from '../platform/config/env.js';
import { deadLetterTopic, topicOfStream } from '../platform/bus/topics.js';
import { encodeEvent, deadLetter } from '../platform/bus/message.js';
import type { Bus } from '../platform/bus/port.js';
import type { EventStore } from '../platform/event-store/event-store.js';
import type { SqlClient } from '../platform/sql/client.js';
import { PiiEnvShape } from '../platform/pii/config.js';
import type { RetryPolicy } from './kernel/isolate.js';
import type { PostgresProjection } from './kernel/projection.js';
import { createProjector, type Projector } from './kernel/projector.js';
import { rebuildProjection, replayProjection, type ReplayFailure } from './kernel/replay.js';
import { createStallDetector } from './kernel/stall.js';
import { projectionGauges, projectionStatus, renderPrometheus, type ProjectionStatus } from './kernel/status.js';
import type { ReadModelTarget } from './kernel/target.js';
import { postgresProjections } from './postgres/index.js';
import { postgresReadModelTargets } from './postgres/target.js';
import { ElasticsearchEnv } from '../platform/elasticsearch/client.js';

/** The PostgreSQL read models this service keeps up to date (one consumer group each). */
export const postgresReadModels: readonly PostgresProjection[] = postgresProjections;

export interface ProjectionsDeps {
  /** The read database (PostgreSQL or PGlite). */
  readonly readSql: SqlClient;
  /** The event store, read for first fills, rebuilds and the head position (lag). */
  readonly store: EventStore;
  /** In one process, the SAME bus instance the relay publishes to. */
  readonly bus: Bus;
  readonly log: Logger;
  /** The PostgreSQL read models (default: all of them), as targets on `readSql`. Ignored when `targets` is given. */
  readonly projections?: readonly PostgresProjection[];
  /**
   * The read models to run, of any store (the composition root adds Elasticsearch / ClickHouse targets
   * by configuration). Default: `projections` as PostgreSQL targets. Every target's bookkeeping must be
   * in the control tables of `readSql` (target.ts), which status and the erasure wait read.
   */
  readonly targets?: readonly ReadModelTarget[];
  readonly retry?: RetryPolicy;
  /** A projector lagging with no progress for this long is stalled (readiness degraded). Default 60 000. */
  readonly stallMs?: number;
}

export interface ProjectionsHandle {
  readonly projectors: readonly Projector[];
  /** The targets the projectors apply to (every store), for the erasure scanners and the ops commands. */
  readonly targets: readonly ReadModelTarget[];
  /** Checkpoints, generations and lag of every read model (for `annals replay status`). */
  status(): Promise<ProjectionStatus[]>;
  /** Prometheus text for /metrics. */
  metrics(): Promise<string>;
  /**
   * Readiness entries for /readyz: `{ projectors: 'ok' }`, or one `projector:<name>` entry per stalled
   * projector with its cause (any value other than 'ok' makes the answer 503).
   */
  readiness(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts one projector per read-model target, whatever its store. Before a read model consumes the bus:
 * - first start (its generation 1 was just created): it is filled from the event store, so a read model
 *   added long after the topics' retention still sees all of history; the bus then redelivers from the
 *   earliest offset and the revision guard skips what the fill applied;
 * - code version differs from the live generation: blue-green rebuild from the store, then consume.
 * Events the fill/rebuild cannot apply go to the projector's dead-letter topic, like the consumer's.
 */
export async function startProjections(deps: ProjectionsDeps): Promise<ProjectionsHandle> {
  const targets = deps.targets ?? postgresReadModelTargets(deps.readSql, deps.projections ?? postgresReadModels);
  const controller = new AbortController();
  const projectors: Projector[] = [];
  const runs: Promise<void>[] = [];
  for (const target of targets) {
    const log = deps.log.child({ projector: target.name, store: target.store });
    const onFailure = async (f: ReplayFailure) => {
      const record = (await deps.store.readStreamRaw(f.streamId, { fromRevision: f.streamRevision, toRevision: f.streamRevision }))[0];
      if (!record || !topicOfStream(f.streamId)) return;
      await deps.bus.publish([deadLetter(encodeEvent(record), deadLetterTopic(target.name), { consumer: target.name, error: f.error, attempts: 1, at: new Date() })]);
    };
    const reg = await target.register();
    if (reg.created) {
      const r = await replayProjection({ target, store: deps.store, log, retry: deps.retry, onFailure, signal: controller.signal });
      log.info({ events: r.events, applied: r.applied, elapsedMs: r.elapsedMs }, 'projector: new read model filled from the event store');
    } else if (reg.needsRebuild) {
      log.warn({ liveVersion: reg.version, codeVersion: target.version }, 'projector: version changed; rebuilding blue-green');
      await rebuildProjection({ target, store: deps.store, log, retry: deps.retry, onFailure, signal: controller.signal });
    }
    // The store's reader: bus records are decrypted with the same key store as every other reader.
    const projector = createProjector({ target, bus: deps.bus, log: deps.log, retry: deps.retry, reader: deps.store.reader });
    projectors.push(projector);
    runs.push(projector.run(controller.signal));
  }
  const status = () => projectionStatus({ sql: deps.readSql, projections: targets, headPosition: () => deps.store.headPosition(), bus: deps.bus });
  const stalls = createStallDetector({ projectors, stallMs: deps.stallMs ?? DEFAULT_PROJECTOR_STALL_MS, log: deps.log });
  stalls.start();
  return {
    projectors,
    targets,
    status,
    // The stall gauge comes from memory: it must answer even when the read database does not.
    metrics: async () => renderPrometheus([...stalls.gauges(), ...projectionGauges(await status())]),
    readiness: async () => stalls.readiness(),
    async stop() {
      stalls.stop();
      controller.abort();
      await Promise.all(runs);
    },
  };
}

export const DEFAULT_PROJECTOR_STALL_MS = 60_000;

/**
 * The projector runtime's own settings, shared by the projections service and `npm start` (which parses
 * them beside the write side's configuration).
 */
export const ProjectorRuntimeConfig = z.object({
  /** Attempts of a failing event before it is dead-lettered (a lost database connection is never counted). */
  PROJECTOR_MAX_ATTEMPTS: int(1, 100).default(5),
  /** A projector lagging with no progress for this long is stalled: /readyz 503, annals_projector_stalled 1, one error log line. */
  PROJECTOR_STALL_MS: int(1_000, 86_400_000).default(DEFAULT_PROJECTOR_STALL_MS),
});
export type ProjectorRuntimeConfig = z.infer<typeof ProjectorRuntimeConfig>;

/** The issues of `ProjectorRuntimeConfig` in `env`, one line each (empty when valid), and the parsed value. */
export function parseProjectorRuntimeConfig(env: Env): { config?: ProjectorRuntimeConfig; issues: string[] } {
  try {
    return { config: parseEnv(ProjectorRuntimeConfig, env), issues: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { issues: err.issues.map((i) => `${i.variable}: ${i.message}`) };
  }
}

/** The retry policy the runtime settings stand for. */
export const retryPolicyOf = (c: ProjectorRuntimeConfig): RetryPolicy => ({ maxAttempts: c.PROJECTOR_MAX_ATTEMPTS, backoff: { initialMs: 100, maxMs: 10_000 } });

/**
 * The standalone service's ops endpoints on PROJECTIONS_METRICS_PORT: /metrics (Prometheus text, checkpoints
 * and lag read from the database at scrape time, stalls from memory) and /readyz (200, or 503 `degraded`
 * naming each stalled projector and its cause).
 */
export function opsHandler(handle: Pick<ProjectionsHandle, 'metrics' | 'readiness'>, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.url === '/readyz') {
      handle.readiness().then(
        (checks) => {
          const ready = Object.values(checks).every((c) => c === 'ok');
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ready ? 'ready' : 'degraded', checks }));
        },
        (err: unknown) => {
          log.error({ err }, 'projections: /readyz failed');
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'not-ready', checks: { projectors: 'unknown' } }));
        },
      );
      return;
    }
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    handle.metrics().then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
      (err: unknown) => {
        log.error({ err }, 'projections: /metrics failed');
        res.writeHead(500).end();
      },
    );
  };
}

/**
 * Configuration of the projections service (GUIDE rule 10; its entry is `annals projections`,
 * scripts/cli/commands/projections.ts, which adds the read side's variables): parsed once by platform/config, frozen, every
 * bad variable listed. READ_DB_URL unset: PGlite in DATA_DIR/read; EVENTSTORE_URL unset: PGlite in
 * DATA_DIR/eventstore (only one process may open it, so embedded means `npm start`); KAFKA_BROKERS unset:
 * the in-process bus (only meaningful inside `npm start`, where the relay shares it).
 */
export const ProjectionsConfig = z.object({
  READ_DB_URL: SharedEnv.READ_DB_URL,
  EVENTSTORE_URL: SharedEnv.EVENTSTORE_URL,
  KAFKA_BROKERS: SharedEnv.KAFKA_BROKERS,
  DATA_DIR: SharedEnv.DATA_DIR,
  LOG_LEVEL: SharedEnv.LOG_LEVEL,
  ...ProjectorRuntimeConfig.shape,
  KAFKA_SESSION_TIMEOUT_MS: SharedEnv.KAFKA_SESSION_TIMEOUT_MS,
  /** HTTP port of the service's /metrics (checkpoints and lag of every projector) and /readyz (stalls). */
  PROJECTIONS_METRICS_PORT: int(1, 65_535).default(9464),
  SHUTDOWN_TIMEOUT_MS: SharedEnv.SHUTDOWN_TIMEOUT_MS,
  /** GDPR: the master key and key-store settings (platform/pii/config.ts); KEYSTORE_URL unset = the read database. */
  ...PiiEnvShape,
  /** Must match the write side's: `on` decrypts personal fields; a store holding the other form refuses to start. */
  PII_ENCRYPTION: z.enum(['on', 'off']).default('on'),
  /** Search: Elasticsearch when ELASTICSEARCH_URL is set, else the embedded `search` table (issue 12). */
  ...ElasticsearchEnv,
});
export type ProjectionsConfig = z.infer<typeof ProjectionsConfig>;

export function parseProjectionsConfig(env: Env): ProjectionsConfig {
  return parseEnv(ProjectionsConfig, env);
}
