import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { assertDatabaseName, MAX_QUERY_SIZE, queryFailed, type AnalyticsEngine } from './port.js';

export interface ServerEngineOptions {
  readonly url: string;
  readonly database: string;
  readonly username?: string;
  readonly password?: string;
  /** Per-request timeout (ms); a long bulk insert or a cold FINAL scan may take a while. */
  readonly requestTimeoutMs?: number;
  /** More settings for every statement (the analytics bench logs its queries: `{ log_queries: 1 }`). */
  readonly settings?: ClickHouseSettings;
}

/**
 * The ClickHouse server over HTTP through the official client. Checked against 18.16 (Debian bookworm):
 * ping, JSONEachRow in and out, `database` as the default database all work; what 18.16 lacks
 * (query parameters `{x:Type}`, some settings) is never sent. Compression is off: 18.16 answers gzip
 * fine, but the rows we move are small and the CPU is shared with the projectors.
 */
export async function clickhouseServerEngine(options: ServerEngineOptions): Promise<AnalyticsEngine & { dropDatabase(): Promise<void> }> {
  const database = assertDatabaseName(options.database);
  // The database must exist before a client can name it as the default: create it on a bootstrap client.
  const boot = createClient({ url: options.url, username: options.username, password: options.password, compression: { request: false, response: false } });
  try {
    await boot.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  } catch (err) {
    throw queryFailed('clickhouse', `CREATE DATABASE ${database}`, err);
  } finally {
    await boot.close();
  }
  const client: ClickHouseClient = createClient({
    url: options.url,
    database,
    username: options.username,
    password: options.password,
    request_timeout: options.requestTimeoutMs ?? 300_000,
    compression: { request: false, response: false },
    // Progress headers keep a long query's connection alive through idle timeouts (18.16 knows both settings).
    // max_query_size (default 256 KiB of SQL parsed): the pipeline ledger's recompute names a batch's deals
    // in the statement (deal-intervals.ts), up to ~2 MB of ids for a 50,000-event batch.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1, send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '10000', max_query_size: String(MAX_QUERY_SIZE), ...options.settings },
  });
  return {
    kind: 'server',
    database,
    async command(sql) {
      try {
        await client.command({ query: sql });
      } catch (err) {
        throw queryFailed('clickhouse', sql, err);
      }
    },
    async query<T extends Record<string, unknown>>(sql: string) {
      try {
        const rs = await client.query({ query: sql, format: 'JSONEachRow' });
        return await rs.json<T>();
      } catch (err) {
        throw queryFailed('clickhouse', sql, err);
      }
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      try {
        await client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow' });
      } catch (err) {
        throw queryFailed('clickhouse', `INSERT INTO ${table}`, err);
      }
    },
    async insertJsonLines(table, jsonLines) {
      if (jsonLines === '') return;
      try {
        // The query in the URL, the lines as the body, sent as they come: a string as is, chunks as a stream
        // (the caller serialises chunk n+1 while the server parses chunk n).
        const result = await client.exec({ query: `INSERT INTO ${table} FORMAT JSONEachRow`, values: Readable.from(typeof jsonLines === 'string' ? [jsonLines] : jsonLines) });
        result.stream.resume();
        await finished(result.stream);
      } catch (err) {
        throw queryFailed('clickhouse', `INSERT INTO ${table}`, err);
      }
    },
    async ping() {
      const r = await client.ping();
      if (!r.success) throw queryFailed('clickhouse', 'ping', r.error);
    },
    async dropDatabase() {
      await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    },
    close: () => client.close(),
  };
}
