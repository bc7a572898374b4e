import { CodedError } from '../errors/coded-error.js';
import { defineErrors } from '../errors/catalogue.js';

/**
 * The analytics port (SPEC: analytics = ClickHouse server over HTTP, or chDB in-process; same SQL).
 * Two adapters with the same semantics, chosen by configuration only (CLICKHOUSE_URL set / unset):
 *  - `clickhouseServerEngine` (server.ts): the official `@clickhouse/client` over HTTP;
 *  - `chdbEngine` (chdb.ts): the ClickHouse engine in this process, data under DATA_DIR.
 *
 * The SQL callers send must run on both: the Debian server is ClickHouse 18.16 (2018) and chDB is
 * current ClickHouse. What that rules out is written down in schemas/read-models/clickhouse/sql.ts
 * (no server-side query parameters on 18.16, so values are inlined as escaped literals; no DateTime
 * for instants, whose range is 1970–2105 there). Every row comes back as JSONEachRow with 64-bit
 * integers quoted (both engines honour `output_format_json_quote_64bit_integers`), so a reader gets
 * the same JSON types whichever engine answered.
 */
export interface AnalyticsEngine {
  readonly kind: 'server' | 'embedded';
  /** The database every unqualified table name refers to. */
  readonly database: string;
  /** A statement without a result (DDL, INSERT … SELECT, OPTIMIZE). */
  command(sql: string): Promise<void>;
  /** A SELECT; rows as JSONEachRow objects (Int64/UInt64 as decimal strings). */
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Inserts rows (one INSERT, JSONEachRow); resolves once the engine has written them. */
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  /**
   * Inserts text that is already JSONEachRow (bulk loads: no per-row object on the way). As chunks (each
   * whole lines), the server adapter streams the body while the iterable produces it, so the caller's
   * serialising overlaps the server's parsing; an error thrown by the iterable fails the INSERT.
   */
  insertJsonLines(table: string, jsonLines: string | Iterable<string>): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Bytes of SQL an engine parses per statement (both adapters set it; ClickHouse's default is 256 KiB). The
 * pipeline ledger's recompute names a batch's deals in its statement (schemas/read-models/clickhouse/
 * deal-intervals.ts keeps each statement under a quarter of this).
 */
export const MAX_QUERY_SIZE = 16 * 1024 * 1024;

export const AnalyticsErrorCode = defineErrors('ANALYTICS', {
  /** The engine refused or failed a statement (syntax, a missing table, the server down). */
  QueryFailed: 'ANALYTICS_ERR_QUERY_FAILED',
  /** An argument cannot be written as a ClickHouse literal (lone surrogate, NUL, out-of-range number). */
  ValueInvalid: 'ANALYTICS_ERR_VALUE_INVALID',
  /** Analytics asked for while no analytics engine is configured. */
  NotConfigured: 'ANALYTICS_ERR_NOT_CONFIGURED',
});
export type AnalyticsErrorCode = (typeof AnalyticsErrorCode)[keyof typeof AnalyticsErrorCode];

export class AnalyticsError extends CodedError {
  declare readonly code: AnalyticsErrorCode;
  constructor(code: AnalyticsErrorCode, message: string, status: number, details?: Readonly<Record<string, unknown>>, options?: ErrorOptions) {
    super(code, message, status, details, { ...options, expose: status < 500 || code === AnalyticsErrorCode.NotConfigured });
    this.name = 'AnalyticsError';
  }
}

/** A failed statement: the engine's message is kept for the log; the SQL is shortened (it may be a large INSERT). */
export function queryFailed(engine: string, sql: string, cause: unknown): AnalyticsError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AnalyticsError(AnalyticsErrorCode.QueryFailed, `${engine}: ${message.split('\n')[0]}`, 503, { statement: sql.slice(0, 200) }, { cause });
}

/** Database names are identifiers we choose (config, tests): refuse anything that would need quoting. */
export function assertDatabaseName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
    throw new AnalyticsError(AnalyticsErrorCode.ValueInvalid, `analytics database name "${name}" must match [A-Za-z_][A-Za-z0-9_]*`, 500);
  }
  return name;
}
