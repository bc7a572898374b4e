import { mkdir } from 'node:fs/promises';
import { Session } from 'chdb';
import { assertDatabaseName, MAX_QUERY_SIZE, queryFailed, type AnalyticsEngine } from './port.js';

export interface ChdbEngineOptions {
  /** Where the engine keeps its data (DATA_DIR/analytics): it survives a restart. */
  readonly path: string;
  readonly database: string;
}

/**
 * chDB: current ClickHouse inside this process, tables persisted under `path`. The engine is a
 * process singleton with ONE data directory per process (chDB refuses a second Session on another
 * path until the first is closed), so a process opens one engine and shares it.
 * Queries run off the event loop (`queryAsync`), so a long analytics query never blocks HTTP.
 */
export async function chdbEngine(options: ChdbEngineOptions): Promise<AnalyticsEngine> {
  const database = assertDatabaseName(options.database);
  await mkdir(options.path, { recursive: true });
  // 64-bit integers quoted like the server adapter does it, so callers see one JSON shape; statements up to
  // MAX_QUERY_SIZE, as on the server.
  const session = new Session(options.path, { connectionArgs: ['--output_format_json_quote_64bit_integers=1', `--max_query_size=${MAX_QUERY_SIZE}`] });
  const run = async (sql: string, format?: string) => {
    try {
      return await session.queryAsync(sql, format === undefined ? {} : { format });
    } catch (err) {
      throw queryFailed('chdb', sql, err);
    }
  };
  try {
    await run(`CREATE DATABASE IF NOT EXISTS ${database}`);
    await run(`USE ${database}`);
  } catch (err) {
    session.close();
    throw err;
  }
  // One statement at a time per session: chDB serialises them anyway, and `USE` state stays with us.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };
  const insertText = (table: string, text: string) =>
    serial(async () => {
      try {
        await session.insert({ table, values: Buffer.from(text, 'utf8'), format: 'JSONEachRow' });
      } catch (err) {
        throw queryFailed('chdb', `INSERT INTO ${table}`, err);
      }
    });
  return {
    kind: 'embedded',
    database,
    command: async (sql) => {
      await serial(() => run(sql));
    },
    query: async <T extends Record<string, unknown>>(sql: string) => {
      const r = await serial(() => run(sql, 'JSONEachRow'));
      const text = r.text();
      return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as T);
    },
    insert: async (table, rows) => {
      if (rows.length === 0) return;
      await insertText(table, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    },
    insertJsonLines: async (table, lines) => {
      const text = typeof lines === 'string' ? lines : [...lines].join('');
      if (text.length === 0) return;
      await insertText(table, text);
    },
    ping: async () => {
      await serial(() => run('SELECT 1'));
    },
    close: async () => {
      await chain;
      session.close();
    },
  };
}
