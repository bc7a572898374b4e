import { mkdir } from 'node:fs/promises';
import { openPglite, pgClient, pgliteClient, type SqlClient } from '../sql/client.js';
import { createPiiCodec, type PiiCodec } from './codec.js';
import { sqlKeyStore, type KeyStore } from './key-store.js';
import { parseMasterKey } from './master-key.js';

/** What a composition root hands over to open the GDPR seam (validated env: PiiEnvShape). */
export interface PiiSettings {
  /** PII_MASTER_KEY, text (validated by PiiMasterKeyText). */
  readonly masterKey: string;
  /** PII_PREVIOUS_MASTER_KEYS, during a rotation. */
  readonly previousMasterKeys?: readonly string[];
  readonly cacheTtlMs?: number;
  readonly cacheSize?: number;
}

/**
 * Opens the key store on `client` (KEYSTORE_URL, else the read database, else the embedded read PGlite:
 * the composition root decides and owns the client) and the codec the event store and every reader use.
 */
export async function openPii(client: SqlClient, settings: PiiSettings): Promise<{ keyStore: KeyStore; codec: PiiCodec }> {
  const keyStore = await sqlKeyStore(client, {
    masterKey: parseMasterKey(settings.masterKey),
    previousMasterKeys: (settings.previousMasterKeys ?? []).map((k, i) => parseMasterKey(k, `PII_PREVIOUS_MASTER_KEYS[${i}]`)),
    ...(settings.cacheTtlMs !== undefined ? { cacheTtlMs: settings.cacheTtlMs } : {}),
    ...(settings.cacheSize !== undefined ? { cacheSize: settings.cacheSize } : {}),
  });
  return { keyStore, codec: createPiiCodec({ keyStore }) };
}

/**
 * The SQL client of the key store when the composition root has no read-database client to share:
 * KEYSTORE_URL/READ_DB_URL (`url`), else PGlite under `embeddedDir` (DATA_DIR/read: the embedded read
 * database, which holds the key tables in one-process mode too). The caller closes it.
 */
export async function openKeyStoreSql(url: string | undefined, embeddedDir: string, applicationName: string): Promise<SqlClient> {
  if (url) return pgClient(url, { applicationName, max: 2 });
  await mkdir(embeddedDir, { recursive: true });
  return pgliteClient(await openPglite(embeddedDir));
}
