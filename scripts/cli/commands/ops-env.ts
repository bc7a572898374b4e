import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { createBus } from '../../../platform/bus/create-bus.js';
import type { Bus } from '../../../platform/bus/port.js';
import { ConfigError, EX_CONFIG, parseEnv, SharedEnv, type Env } from '../../../platform/config/env.js';
import type { EventStore } from '../../../platform/event-store/event-store.js';
import { eventStoreConfig, openEventStore } from '../../../platform/event-store/open.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { PiiEnvShape } from '../../../platform/pii/config.js';
import { openKeyStoreSql, openPii } from '../../../platform/pii/open.js';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../../../platform/sql/client.js';

/**
 * What the operations commands (`annals replay …`, `annals dlq …`) read, through the one parser
 * (platform/config): every bad variable listed at once, empty = unset. Servers when their URL is set,
 * the embedded data directory (DATA_DIR) otherwise — while `npm start` is stopped: PGlite admits one process.
 */
export const OpsEnv = z.object({
  DATA_DIR: SharedEnv.DATA_DIR,
  READ_DB_URL: SharedEnv.READ_DB_URL,
  EVENTSTORE_URL: SharedEnv.EVENTSTORE_URL,
  KAFKA_BROKERS: SharedEnv.KAFKA_BROKERS,
  KAFKA_SESSION_TIMEOUT_MS: SharedEnv.KAFKA_SESSION_TIMEOUT_MS,
  PII_MASTER_KEY: PiiEnvShape.PII_MASTER_KEY,
  PII_PREVIOUS_MASTER_KEYS: PiiEnvShape.PII_PREVIOUS_MASTER_KEYS,
  KEYSTORE_URL: PiiEnvShape.KEYSTORE_URL,
  PII_ENCRYPTION: z.enum(['on', 'off']).default('on'),
});
export type OpsEnv = z.output<typeof OpsEnv>;

export const OPS_ENV_HELP = `environment: EVENTSTORE_URL (esdb://… or postgres://…), READ_DB_URL, KAFKA_BROKERS; unset = the embedded
  data directory DATA_DIR (default ./.annals), while \`npm start\` is stopped (PGlite admits one process)`;

/** A one-line failure the command prints as `annals <cmd>: <message>` before exiting with `exitCode`. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

export function parseOpsEnv(env: Env): OpsEnv {
  try {
    return parseEnv(OpsEnv, env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliFailure(err.message.replace(/\n/g, '; '), EX_CONFIG);
    throw err;
  }
}

export interface OpsHandles {
  readonly env: OpsEnv;
  /** Opened on first use, closed by `close()`. Raw reads only (chain verify, status): no key store. */
  store(): Promise<EventStore>;
  /**
   * The store with the GDPR codec, as the services open it, for commands that DECODE events (a dead-letter
   * retry): PII_MASTER_KEY, else the embedded development key in DATA_DIR/secrets (never created here);
   * key tables on KEYSTORE_URL, else the read database. Erased subjects read as erased.
   */
  decodingStore(): Promise<EventStore>;
  readSql(): Promise<SqlClient>;
  bus(): Bus;
  close(): Promise<void>;
}

/** Lazily opened clients for one command run; whatever was opened is closed once, in reverse order. */
export function openOps(env: OpsEnv, applicationName: string): OpsHandles {
  let store: Promise<EventStore> | undefined;
  let decoding: Promise<EventStore> | undefined;
  let keySql: SqlClient | undefined;
  let readSql: Promise<SqlClient> | undefined;
  let bus: Bus | undefined;
  const handles: OpsHandles = {
    env,
    store: () =>
      (store ??= openEventStore(eventStoreConfig(env.EVENTSTORE_URL, env.DATA_DIR), { applicationName, maxConnections: 2 })),
    decodingStore: () =>
      (decoding ??= (async () => {
        const config = eventStoreConfig(env.EVENTSTORE_URL, env.DATA_DIR);
        if (env.PII_ENCRYPTION === 'off') return openEventStore(config, { applicationName, maxConnections: 2, encryption: { codec: undefined } });
        const masterKey = env.PII_MASTER_KEY ?? (await readFile(join(env.DATA_DIR, 'secrets', 'pii-master-key'), 'utf8').catch(() => undefined))?.trim();
        if (masterKey === undefined) throw new CliFailure('PII_MASTER_KEY is not set (and no embedded development key in DATA_DIR/secrets): events cannot be decoded', 78);
        const sql = env.KEYSTORE_URL ? (keySql = await openKeyStoreSql(env.KEYSTORE_URL, join(env.DATA_DIR, 'read'), applicationName)) : await handles.readSql();
        const { codec } = await openPii(sql, { masterKey, previousMasterKeys: env.PII_PREVIOUS_MASTER_KEYS });
        return openEventStore(config, { applicationName, maxConnections: 2, encryption: { codec } });
      })()),
    readSql: () =>
      (readSql ??= env.READ_DB_URL
        ? Promise.resolve(pgClient(env.READ_DB_URL, { max: 2, applicationName }))
        : openPglite(join(env.DATA_DIR, 'read')).then((db) => pgliteClient(db))),
    bus: () =>
      (bus ??= createBus({
        kafkaBrokers: env.KAFKA_BROKERS,
        dataDir: env.DATA_DIR,
        sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
        clientId: applicationName,
        // kafkajs reports transient broker states (a new topic's leader) at error level; what matters is thrown.
        log: createLogger({ level: 'fatal', name: applicationName }),
      })),
    async close() {
      await bus?.close().catch(() => undefined);
      if (store) await (await store).close().catch(() => undefined);
      if (decoding) await (await decoding.catch(() => undefined))?.close().catch(() => undefined);
      await keySql?.close().catch(() => undefined);
      if (readSql) await (await readSql).close().catch(() => undefined);
    },
  };
  return handles;
}

/** Runs a command body: a CliFailure (or any error) becomes one line on stderr and a non-zero exit. */
export async function runCommand(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    const failure = err instanceof CliFailure ? err : undefined;
    const message = (err as Error)?.message ?? String(err);
    process.stderr.write(`annals ${name}: ${message.split('\n')[0]}\n`);
    return failure?.exitCode ?? 1;
  }
}

/** `--flag value` / `--flag=value` lookup and positional arguments, for the small grammars of these commands. */
export function parseArgs(args: readonly string[], valueFlags: readonly string[]): { flags: Map<string, string | true>; positional: string[] } {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) flags.set(name, a.slice(eq + 1));
    else if (valueFlags.includes(name)) {
      const v = args[++i];
      if (v === undefined) throw new CliFailure(`--${name} needs a value`, 2);
      flags.set(name, v);
    } else flags.set(name, true);
  }
  return { flags, positional };
}
