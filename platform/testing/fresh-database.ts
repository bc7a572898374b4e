import { randomUUID } from 'node:crypto';
import { pgClient } from '../sql/client.js';

/**
 * Test helper: a database of its own on the server of `serverUrl`, created now, for a suite that needs a
 * fresh one (an empty store, its own migrations); `drop` removes it, whoever is still connected.
 */
export async function freshDatabase(serverUrl: string, prefix: string): Promise<{ readonly name: string; readonly url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '')}`;
  const admin = pgClient(serverUrl, { max: 1 });
  await admin.exec(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      try {
        await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.close();
      }
    },
  };
}
