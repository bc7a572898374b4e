import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Writable } from 'node:stream';
import { signDevToken } from '../platform/auth/sign.js';
import type { Role } from '../schemas/events/common.js';
import { createEventStore, type EventStore } from '../platform/event-store/event-store.js';
import { postgresEventStore } from '../platform/event-store/postgres/adapter.js';
import { openPglite, pgliteClient } from '../platform/sql/client.js';
import { createLogger } from '../platform/logging/logger.js';
import { buildApp } from './build-app.js';
import { EMAIL_HASH_LABEL, REQUEST_HASH_LABEL, type WriteSideConfig } from './config.js';
import { deriveSubkey } from '../platform/pii/master-key.js';

/**
 * Test support for the command API: a real app on a real (in-memory PGlite) event store, tokens signed
 * with the test secret, and every log line captured so tests can assert what was (never) logged.
 */
export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';
export const TEST_ISSUER = 'annals-test';
export const TEST_AUDIENCE = 'annals-test-api';
/** 32 bytes, base64url: a valid PII_MASTER_KEY (tests only). */
export const TEST_PII_MASTER_KEY = 'dGVzdC1waWktbWFzdGVyLWtleS0zMi1ieXRlcy0wMDA';

export function testConfig(overrides: Partial<WriteSideConfig> = {}): WriteSideConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    dataDir: '/nonexistent',
    eventStore: { kind: 'pglite', dir: '/nonexistent' },
    auth: { keys: { kind: 'secret', secret: TEST_SECRET }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE },
    piiMasterKey: TEST_PII_MASTER_KEY,
    emailHashKey: deriveSubkey(TEST_PII_MASTER_KEY, EMAIL_HASH_LABEL),
    requestHashKey: deriveSubkey(TEST_PII_MASTER_KEY, REQUEST_HASH_LABEL),
    pii: { encryption: false, previousMasterKeys: [], cacheTtlMs: 1_000, cacheSize: 1_000, keyStoreUrl: undefined },
    logLevel: 'info',
    rateLimit: { maxPerWindow: 100_000, windowMs: 60_000 },
    bodyLimitBytes: 64 * 1024,
    shutdownTimeoutMs: 1_000,
    conversionProcess: false,
    ...overrides,
  };
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly store: EventStore;
  /** Every log line written so far, as text. */
  readonly logs: () => string;
  readonly close: () => Promise<void>;
}

export async function memoryStore(): Promise<EventStore> {
  return createEventStore(await postgresEventStore(pgliteClient(await openPglite())));
}

export async function testApp(options: { config?: Partial<WriteSideConfig>; store?: EventStore; clock?: () => Date } = {}): Promise<TestApp> {
  const store = options.store ?? (await memoryStore());
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const config = testConfig(options.config);
  const logger = createLogger({ level: config.logLevel, name: 'write-side' }, sink);
  const app = await buildApp({ config, logger, eventStore: store, ...(options.clock ? { clock: options.clock } : {}) });
  await app.ready();
  return {
    app,
    store,
    logs: () => lines.join(''),
    close: async () => {
      await app.close();
      if (!options.store) await store.close();
    },
  };
}

export interface TokenOptions {
  tenant?: string;
  sub?: string;
  roles?: Role[];
  ttlSeconds?: number;
  issuer?: string;
  audience?: string;
  secret?: string;
  now?: Date;
}

export function token(o: TokenOptions = {}): Promise<string> {
  return signDevToken({
    secret: o.secret ?? TEST_SECRET,
    issuer: o.issuer ?? TEST_ISSUER,
    audience: o.audience ?? TEST_AUDIENCE,
    tenant: o.tenant ?? 'tenant-a',
    sub: o.sub ?? 'user-1',
    roles: o.roles ?? ['admin'],
    ttlSeconds: o.ttlSeconds ?? 3600,
    ...(o.now ? { now: o.now } : {}),
  });
}

/** A JSON command through app.inject. */
export async function send(
  app: FastifyInstance,
  method: 'POST' | 'PATCH' | 'GET',
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse & { json: <T = Record<string, unknown>>() => T }> {
  const res = await app.inject({
    method,
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return res as LightMyRequestResponse & { json: <T = Record<string, unknown>>() => T };
}

export const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
