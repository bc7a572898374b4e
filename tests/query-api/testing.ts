import { pino } from 'pino';
import type { Role } from '../../schemas/events/common.js';
import type { EventEnvelope } from '../../schemas/events/registry.js';
import { signDevToken } from '../../platform/auth/sign.js';
import { createTokenVerifier } from '../../platform/auth/verify.js';
import { openPglite, pgliteClient, type SqlClient, type SqlExecutor } from '../../platform/sql/client.js';
import { registerProjection } from '../../projections/kernel/generations.js';
import type { Tables } from '../../projections/kernel/projection.js';
import { postgresProjections } from '../../projections/postgres/index.js';
import { DEFAULT_LIMITS, type QueryLimits } from '../../query-api/config.js';
import { createQueryApi, type QueryApi } from '../../query-api/service.js';

/**
 * Test helpers of the query API on embedded read models: one PGlite per test file with every PostgreSQL
 * read model registered exactly as the runtime does (generation 1 + the views the query API reads), and
 * events applied through the real projections. Lives outside query-api/ because it imports projections/
 * (which query-api/ may not); tests of the whole pipeline through the command API sit beside it.
 */
export const SECRET = 'query-api-test-secret-0123456789abcdef';
export const ISSUER = 'annals';
export const AUDIENCE = 'annals-api';

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A SqlClient that records every statement (the loaders' one-statement-per-field proof). */
export interface CountingSql extends SqlClient {
  readonly statements: string[];
  reset(): void;
}

export function countingSql(inner: SqlClient): CountingSql {
  const statements: string[] = [];
  const wrap = (e: SqlExecutor): SqlExecutor => ({
    query: (sql, params, options) => {
      statements.push(sql);
      return e.query(sql, params, options);
    },
    exec: (sql) => {
      statements.push(sql);
      return e.exec(sql);
    },
  });
  const outer = wrap(inner);
  return {
    dialect: inner.dialect,
    statements,
    reset: () => void statements.splice(0),
    query: outer.query,
    exec: outer.exec,
    transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    close: () => inner.close(),
  };
}

export interface ReadModels {
  readonly sql: SqlClient;
  apply(events: readonly EventEnvelope[]): Promise<void>;
  close(): Promise<void>;
}

export async function openReadModels(): Promise<ReadModels> {
  return openReadModelsOn(pgliteClient(await openPglite()));
}

/** The same on a given database (a PostgreSQL server's, in the int tests); `close` closes `sql`. */
export async function openReadModelsOn(sql: SqlClient): Promise<ReadModels> {
  const live: { projection: (typeof postgresProjections)[number]; tables: Tables; types: Set<string> }[] = [];
  for (const projection of postgresProjections) {
    const reg = await registerProjection(sql, projection);
    live.push({ projection, tables: reg.tables, types: new Set<string>(projection.eventTypes) });
  }
  return {
    sql,
    async apply(events) {
      for (const event of events) {
        for (const { projection, tables, types } of live) {
          if (!types.has(event.type)) continue;
          const statements = projection.project(event, tables);
          await sql.transaction(async (tx) => {
            for (const s of statements) await tx.query(s.sql, s.params);
          });
        }
      }
    },
    close: () => sql.close(),
  };
}

export interface TestApi {
  readonly api: QueryApi;
  readonly sql: CountingSql;
  token(options?: { tenant?: string; roles?: Role[]; sub?: string; ttlSeconds?: number; now?: Date }): Promise<string>;
  /** POST /graphql; returns status, body and headers. */
  gql(query: string, options?: { variables?: Record<string, unknown>; token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: GqlBody; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface GqlError {
  message: string;
  path?: (string | number)[];
  locations?: { line: number; column: number }[];
  extensions: Record<string, unknown> & { code: string; correlationId: string };
}
export interface GqlBody {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  errors?: GqlError[];
  extensions?: Record<string, unknown>;
}

export async function openTestApi(readSql: SqlClient, options: { limits?: Partial<QueryLimits>; defaultTenant?: string; logger?: typeof silentLogger } = {}): Promise<TestApi> {
  const sql = countingSql(readSql);
  const verifier = createTokenVerifier({ keys: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
  const api = await createQueryApi({ readSql: sql, verifier, logger: options.logger ?? silentLogger, limits: { ...DEFAULT_LIMITS, ...options.limits } });
  const token: TestApi['token'] = (o = {}) =>
    signDevToken({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      tenant: o.tenant ?? options.defaultTenant ?? 'tenant-a',
      sub: o.sub ?? 'user-1',
      roles: o.roles ?? ['sales'],
      ttlSeconds: o.ttlSeconds ?? 600,
      ...(o.now ? { now: o.now } : {}),
    });
  const defaultToken = await token();
  return {
    api,
    sql,
    token,
    async gql(query, o = {}) {
      const tok = o.token === undefined ? defaultToken : o.token;
      const res = await api.app.inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(o.headers ?? {}) },
        payload: JSON.stringify({ query, ...(o.variables ? { variables: o.variables } : {}) }),
      });
      return { status: res.statusCode, body: res.json() as GqlBody, headers: res.headers };
    },
    close: () => api.stop(),
  };
}
