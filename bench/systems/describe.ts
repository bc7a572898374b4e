type Query = (sql: string) => Promise<{ rows: Record<string, unknown>[] }>;

/** The durability settings and server version, so a reader can see what the figures were taken under. */
export async function describeSql(query: Query, engine: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { engine };
  for (const name of ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers']) {
    const { rows } = await query(`SHOW ${name}`);
    out[name] = String(Object.values(rows[0] ?? {})[0] ?? '?');
  }
  return out;
}
