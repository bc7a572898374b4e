import { randomBytes } from 'node:crypto';
import type { QueryOptions, SqlClient, SqlExecutor } from '../sql/client.js';
import { migrate, type Migration } from '../sql/migrate.js';
import { unwrapKey, wrapKey } from './cipher.js';
import { PiiError, PiiErrorCode } from './errors.js';
import { Lru } from './lru.js';
import type { MasterKey } from './master-key.js';

/**
 * The key store: one AES-256 data key per data subject (tenant + contact or lead id), wrapped by the master
 * key, in a table outside the event store (the read database, its own KEYSTORE_URL, or PGlite when
 * embedded — anything behind SqlClient).
 *
 * Guarantees:
 * - Destroying a key deletes its row and records the destruction (time, actor, reason) in a tombstone,
 *   in one transaction. Destroying again returns the first record. A subject with a tombstone never gets
 *   a key again (`getOrCreate` refuses with PII_ERR_SUBJECT_ERASED): erasure is final, even for a
 *   retried command that arrives after it.
 * - Create and destroy of one subject are serialised by a transaction-scoped advisory lock, so a create
 *   racing a destroy cannot leave both a key and a tombstone.
 * - Keys are cached in process (bounded LRU). A key destroyed by ANOTHER process stops decrypting here
 *   at the first lookup that starts more than `cacheTtlMs` after the destroy committed (default 1000 ms;
 *   0 = every lookup asks). A lookup past that age asks "which subjects were destroyed since epoch E?" in
 *   the same single statement that fetches the keys it misses. The epoch is a one-row counter bumped under
 *   its row lock by every destroy, so epochs are in commit order and no destruction can be skipped (a
 *   bigserial id would be: ids are handed out in start order, not commit order).
 * - A lookup for any number of subjects is at most ONE statement (`= ANY`-style unnest), and none at all
 *   when every key is cached and the last check is younger than `cacheTtlMs`.
 */

export interface SubjectRef {
  readonly tenantId: string;
  readonly subjectId: string;
}

export interface Destruction {
  readonly tenantId: string;
  readonly subjectId: string;
  /** ISO 8601, UTC. */
  readonly destroyedAt: string;
  readonly actor: string;
  /** Free text from the data protection officer: it must not itself hold personal data. */
  readonly reason: string;
  /** False when the subject never had a key (erased before any personal data was written). */
  readonly keyExisted: boolean;
}

/**
 * A subject's AES-256 data key: its 32 raw bytes, as unwrapped. Not a node:crypto KeyObject: createSecretKey
 * cost ~5 µs per key more than the decryption it served (measured with node 20), and a catch-up meets every
 * subject once. The bytes live in this process's memory either way; nothing outside platform/pii sees them.
 */
export type DataKey = Buffer;

export type KeyLookup =
  | { readonly state: 'live'; readonly key: DataKey }
  | { readonly state: 'erased' }
  /** Neither a key nor a tombstone: the subject never had personal data written, or the key table was lost. */
  | { readonly state: 'missing' };

export interface KeyStore {
  /** Keys of many subjects in at most one statement; the map is keyed by `subjectKey(ref)`. */
  lookup(refs: readonly SubjectRef[]): Promise<ReadonlyMap<string, KeyLookup>>;
  /** The subject's key, created on first use. Throws PII_ERR_SUBJECT_ERASED once the key was destroyed. */
  getOrCreate(ref: SubjectRef): Promise<DataKey>;
  /** Destroys the subject's key (idempotent: a second call returns the first record). */
  destroy(ref: SubjectRef, by: { readonly actor: string; readonly reason: string }): Promise<Destruction>;
  destruction(ref: SubjectRef): Promise<Destruction | undefined>;
}

export interface SqlKeyStoreOptions {
  /** Wraps new keys; unwraps keys it wrapped. */
  readonly masterKey: MasterKey;
  /** Older master keys still accepted for unwrapping while a rotation runs (see rotateMasterKey). */
  readonly previousMasterKeys?: readonly MasterKey[];
  /** PII_KEY_CACHE_SIZE: data keys kept in memory (default 10 000, about 1 MB). */
  readonly cacheSize?: number;
  /** PII_KEY_CACHE_TTL_MS: the longest a cached key is used without checking for destructions (default 1000). */
  readonly cacheTtlMs?: number;
  /** Milliseconds clock; tests pass their own. */
  readonly now?: () => number;
  /** Apply the key tables' migrations (default true). */
  readonly migrate?: boolean;
}

export const DEFAULT_KEY_CACHE_SIZE = 10_000;
export const DEFAULT_KEY_CACHE_TTL_MS = 1_000;

export const keyStoreMigrations: readonly Migration[] = [
  {
    name: 'pii/001-key-store',
    sql: `
      CREATE TABLE pii_data_keys (
        tenant_id     text NOT NULL,
        subject_id    text NOT NULL,
        wrapped_key   text NOT NULL,
        master_key_id text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        rewrapped_at  timestamptz,
        PRIMARY KEY (tenant_id, subject_id)
      );
      CREATE INDEX pii_data_keys_master_key ON pii_data_keys (master_key_id);
      CREATE TABLE pii_key_tombstones (
        tenant_id    text NOT NULL,
        subject_id   text NOT NULL,
        epoch        bigint NOT NULL UNIQUE,
        destroyed_at timestamptz NOT NULL,
        actor        text NOT NULL,
        reason       text NOT NULL,
        key_existed  boolean NOT NULL,
        PRIMARY KEY (tenant_id, subject_id)
      );
      CREATE TABLE pii_key_epoch (id smallint PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL);
      INSERT INTO pii_key_epoch VALUES (1, 0);
    `,
  },
  {
    // Key creation as one statement (one round trip, the implicit transaction of an autocommit call) instead
    // of BEGIN, lock, insert, [select,] COMMIT: a writer whose command names a new subject waits for this
    // before its append. PL/pgSQL takes a fresh snapshot per statement under READ COMMITTED, so the insert
    // sees every destruction committed before the locks were granted, exactly as the separate statements did.
    name: 'pii/fn-pii_create_keys',
    repeatable: true,
    sql: `
-- Creates the keys of subjects that have neither a key nor a tombstone, under the subjects' advisory locks
-- (taken in a fixed order: two batches cannot deadlock; a destroy takes one). One row per subject:
--   'i' the given key was inserted;  'k' a key existed (created elsewhere): its wrapped form;  't' erased.
CREATE OR REPLACE FUNCTION pii_create_keys(p_tenants text[], p_subjects text[], p_wrapped text[], p_master_key_id text, p_locks text[])
RETURNS TABLE (kind text, tenant_id text, subject_id text, wrapped_key text, master_key_id text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_tenants  text[];
  v_subjects text[];
BEGIN
  PERFORM pg_advisory_xact_lock(l.h) FROM (SELECT DISTINCT hashtextextended(x, 0) AS h FROM unnest(p_locks) AS x ORDER BY 1) AS l;
  WITH ins AS (
    INSERT INTO pii_data_keys AS d (tenant_id, subject_id, wrapped_key, master_key_id)
    SELECT u.t, u.s, u.w, p_master_key_id FROM unnest(p_tenants, p_subjects, p_wrapped) AS u(t, s, w)
     WHERE NOT EXISTS (SELECT 1 FROM pii_key_tombstones o WHERE o.tenant_id = u.t AND o.subject_id = u.s)
    ON CONFLICT ON CONSTRAINT pii_data_keys_pkey DO NOTHING RETURNING d.tenant_id, d.subject_id
  )
  SELECT coalesce(array_agg(ins.tenant_id), '{}'), coalesce(array_agg(ins.subject_id), '{}') INTO v_tenants, v_subjects FROM ins;
  RETURN QUERY SELECT 'i'::text, u.t, u.s, NULL::text, NULL::text FROM unnest(v_tenants, v_subjects) AS u(t, s);
  IF cardinality(v_tenants) < cardinality(p_tenants) THEN
    -- Erased meanwhile (tombstone), or created by another process between the caller's miss and the lock.
    RETURN QUERY
      SELECT 't'::text, o.tenant_id, o.subject_id, NULL::text, NULL::text FROM pii_key_tombstones o
       WHERE (o.tenant_id, o.subject_id) IN (SELECT * FROM unnest(p_tenants, p_subjects))
      UNION ALL
      SELECT 'k'::text, d.tenant_id, d.subject_id, d.wrapped_key, d.master_key_id FROM pii_data_keys d
       WHERE (d.tenant_id, d.subject_id) IN (SELECT * FROM unnest(p_tenants, p_subjects))
         AND (d.tenant_id, d.subject_id) NOT IN (SELECT * FROM unnest(v_tenants, v_subjects));
  END IF;
END
$fn$;
`,
  },
];

/**
 * The cache and lookup-map key of a subject: the tenant's length first, so no pair of ids can meet
 * whatever characters they hold (and cheaper than JSON, on a path run for every event a projector reads).
 */
export function subjectKey(ref: SubjectRef): string {
  return `${ref.tenantId.length}:${ref.tenantId}:${ref.subjectId}`;
}

/** The advisory-lock name of a subject, shared by every process (so its form never changes). */
const lockName = (ref: SubjectRef): string => `pii:${JSON.stringify([ref.tenantId, ref.subjectId])}`;

// Larger than any epoch: "no destructions since" on the first lookup, which reads the current epoch.
const NO_EPOCH = '9223372036854775807';

const LOOKUP_SQL = `
  SELECT 'e' AS kind, epoch::text AS epoch, NULL::text AS tenant_id, NULL::text AS subject_id, NULL::text AS wrapped_key, NULL::text AS master_key_id
    FROM pii_key_epoch
  UNION ALL
  SELECT 't', t.epoch::text, t.tenant_id, t.subject_id, NULL, NULL FROM pii_key_tombstones t WHERE t.epoch > $3::bigint
  UNION ALL
  SELECT 't', t.epoch::text, t.tenant_id, t.subject_id, NULL, NULL FROM pii_key_tombstones t
   WHERE (t.tenant_id, t.subject_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
  UNION ALL
  SELECT 'k', NULL, k.tenant_id, k.subject_id, k.wrapped_key, k.master_key_id FROM pii_data_keys k
   WHERE (k.tenant_id, k.subject_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/**
 * Key creation, the codec's one statement on a new subject's first append, is prepared once per connection: a
 * function call, whose plan cannot go stale (the lookup reads tables, so it is not: see QueryOptions.prepare).
 */
const PREPARED: QueryOptions = { prepare: true };

interface LookupRow {
  kind: 'e' | 't' | 'k';
  epoch: string | null;
  tenant_id: string | null;
  subject_id: string | null;
  wrapped_key: string | null;
  master_key_id: string | null;
}

const TOMBSTONE_COLUMNS = `tenant_id, subject_id, actor, reason, key_existed,
  to_char(destroyed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS destroyed_at`;

interface TombstoneRow {
  tenant_id: string;
  subject_id: string;
  actor: string;
  reason: string;
  key_existed: boolean;
  destroyed_at: string;
}

const toDestruction = (r: TombstoneRow): Destruction => ({
  tenantId: r.tenant_id,
  subjectId: r.subject_id,
  destroyedAt: r.destroyed_at,
  actor: r.actor,
  reason: r.reason,
  keyExisted: r.key_existed,
});

/** Serialises create and destroy of one subject (advisory locks are 64-bit: a collision only serialises two subjects). */
const lockSubject = (tx: SqlExecutor, ref: SubjectRef) =>
  tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [lockName(ref)]);

export async function sqlKeyStore(client: SqlClient, options: SqlKeyStoreOptions): Promise<KeyStore> {
  if (options.migrate ?? true) await migrate(client, keyStoreMigrations);
  const masters = new Map<string, MasterKey>([options.masterKey, ...(options.previousMasterKeys ?? [])].map((m) => [m.id, m]));
  const cacheSize = options.cacheSize ?? DEFAULT_KEY_CACHE_SIZE;
  const ttlMs = options.cacheTtlMs ?? DEFAULT_KEY_CACHE_TTL_MS;
  const now = options.now ?? Date.now;
  const live = new Lru<string, DataKey>(cacheSize);
  // Erasure is final, so "erased" may be remembered as long as memory allows; bounded all the same.
  const erased = new Lru<string, true>(cacheSize);
  let epoch: bigint | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;

  const unwrap = (ref: SubjectRef, wrapped: string, masterKeyId: string): DataKey => {
    const master = masters.get(masterKeyId);
    if (!master) {
      throw new PiiError(
        PiiErrorCode.MasterKeyMismatch,
        `the data key of subject ${ref.subjectId} is wrapped by master key ${masterKeyId}, which is not configured (configured: ${[...masters.keys()].join(', ')})`,
        {},
        { tenantId: ref.tenantId, subjectId: ref.subjectId, masterKeyId, configured: [...masters.keys()] },
      );
    }
    const raw = unwrapKey(master.kek, ref.tenantId, ref.subjectId, wrapped);
    if (!raw) {
      throw new PiiError(PiiErrorCode.KeyUnwrapFailed, `the data key of subject ${ref.subjectId} does not unwrap under master key ${masterKeyId}`, {}, {
        tenantId: ref.tenantId,
        subjectId: ref.subjectId,
        masterKeyId,
      });
    }
    return raw;
  };

  const markErased = (k: string) => {
    live.delete(k);
    erased.set(k, true);
  };

  const lookup = async (refs: readonly SubjectRef[]): Promise<ReadonlyMap<string, KeyLookup>> => {
    const distinct = new Map<string, SubjectRef>();
    for (const r of refs) distinct.set(subjectKey(r), r);
    const stale = now() - checkedAt >= ttlMs;
    const missing = [...distinct].filter(([k]) => !erased.get(k) && !live.get(k)).map(([, r]) => r);
    const fetched = new Map<string, DataKey>();
    if (stale || missing.length > 0) {
      const startedAt = now();
      const { rows } = await client.query<LookupRow>(LOOKUP_SQL, [
        missing.map((r) => r.tenantId),
        missing.map((r) => r.subjectId),
        epoch === undefined ? NO_EPOCH : epoch.toString(),
      ]);
      let seen: bigint | undefined;
      for (const row of rows) {
        if (row.kind === 'e') seen = BigInt(row.epoch!);
        else if (row.kind === 't') markErased(subjectKey({ tenantId: row.tenant_id!, subjectId: row.subject_id! }));
      }
      for (const row of rows) {
        if (row.kind !== 'k') continue;
        const ref = { tenantId: row.tenant_id!, subjectId: row.subject_id! };
        const k = subjectKey(ref);
        // A tombstone wins over a key row, and a destruction seen by a concurrent newer lookup wins over
        // this (older) snapshot: never cache a key this process already knows to be destroyed.
        if (erased.get(k)) continue;
        const key = unwrap(ref, row.wrapped_key!, row.master_key_id!);
        fetched.set(k, key);
        if (seen !== undefined && (epoch === undefined || seen >= epoch)) live.set(k, key);
      }
      if (seen !== undefined && (epoch === undefined || seen >= epoch)) {
        epoch = seen;
        checkedAt = Math.max(checkedAt, startedAt);
      }
    }
    const out = new Map<string, KeyLookup>();
    for (const k of distinct.keys()) {
      if (erased.get(k)) out.set(k, { state: 'erased' });
      else {
        const key = fetched.get(k) ?? live.get(k);
        out.set(k, key ? { state: 'live', key } : { state: 'missing' });
      }
    }
    return out;
  };

  const erasedError = (ref: SubjectRef) =>
    new PiiError(PiiErrorCode.SubjectErased, `subject ${ref.subjectId} was erased: its key is destroyed and is never recreated`, {}, {
      tenantId: ref.tenantId,
      subjectId: ref.subjectId,
    });

  const selectTombstone = async (tx: SqlExecutor, ref: SubjectRef): Promise<Destruction | undefined> => {
    const { rows } = await tx.query<TombstoneRow>(`SELECT ${TOMBSTONE_COLUMNS} FROM pii_key_tombstones WHERE tenant_id = $1 AND subject_id = $2`, [
      ref.tenantId,
      ref.subjectId,
    ]);
    return rows[0] ? toDestruction(rows[0]) : undefined;
  };

  /**
   * Key creation, batched: the subjects that need a key while a creation call is in flight wait and go
   * together in the next one (concurrent appends for new subjects — a lead capture each — cost one round
   * trip and one commit, not a transaction per subject). Each call is one statement, `pii_create_keys`:
   * the subjects' advisory locks in a fixed order (two processes' batches cannot deadlock; a destroy takes
   * one lock), then ONE insert of every key whose subject has no tombstone — in its own statement of the
   * function, so under READ COMMITTED it sees every destruction committed before the locks were granted: a
   * destroyed subject never gets a key back — then, only if some row was not inserted, their tombstones
   * and existing keys.
   */
  type Waiter = { readonly ref: SubjectRef; readonly resolve: (key: DataKey) => void; readonly reject: (error: unknown) => void };
  let pending = new Map<string, Waiter[]>();
  let creating = false;
  const create = (ref: SubjectRef): Promise<DataKey> =>
    new Promise((resolve, reject) => {
      const k = subjectKey(ref);
      const ws = pending.get(k);
      if (ws) ws.push({ ref, resolve, reject });
      else pending.set(k, [{ ref, resolve, reject }]);
      if (!creating) {
        creating = true;
        // After the pending microtasks (setImmediate, not queueMicrotask): concurrent appends started in
        // the same tick reach this point a few awaits apart, and they should all meet in the first batch.
        setImmediate(() => void flushCreations());
      }
    });
  const flushCreations = async (): Promise<void> => {
    while (pending.size > 0) {
      const batch = pending;
      pending = new Map();
      try {
        const outcome = await createBatch([...batch.values()].map((ws) => ws[0]!.ref));
        for (const [k, ws] of batch) {
          const o = outcome.get(k)!;
          for (const w of ws) {
            if (o.ok) w.resolve(o.key);
            else w.reject(o.error);
          }
        }
      } catch (error) {
        for (const ws of batch.values()) for (const w of ws) w.reject(error);
      }
    }
    creating = false;
  };
  const createBatch = async (refs: readonly SubjectRef[]): Promise<Map<string, { ok: true; key: DataKey } | { ok: false; error: unknown }>> => {
    const raws = refs.map(() => randomBytes(32));
    const wrapped = refs.map((r, i) => wrapKey(options.masterKey.kek, r.tenantId, r.subjectId, raws[i]!));
    const { rows } = await client.query<Omit<LookupRow, 'kind'> & { kind: 'i' | 't' | 'k' }>(`SELECT * FROM pii_create_keys($1::text[], $2::text[], $3::text[], $4, $5::text[])`, [
      refs.map((r) => r.tenantId),
      refs.map((r) => r.subjectId),
      wrapped,
      options.masterKey.id,
      refs.map(lockName),
    ], PREPARED);
    const inserted = new Set(rows.filter((r) => r.kind === 'i').map((r) => subjectKey({ tenantId: r.tenant_id!, subjectId: r.subject_id! })));
    const others = rows.filter((r): r is LookupRow & { kind: 't' | 'k' } => r.kind !== 'i');
    const out = new Map<string, { ok: true; key: DataKey } | { ok: false; error: unknown }>();
    refs.forEach((r, i) => {
      const k = subjectKey(r);
      if (!inserted.has(k)) return;
      const key = raws[i]!;
      live.set(k, key);
      out.set(k, { ok: true, key });
    });
    const byKey = new Map<string, LookupRow[]>();
    for (const row of others) {
      const k = subjectKey({ tenantId: row.tenant_id!, subjectId: row.subject_id! });
      byKey.set(k, [...(byKey.get(k) ?? []), row]);
    }
    for (const r of refs) {
      const k = subjectKey(r);
      if (out.has(k)) continue;
      const rows = byKey.get(k) ?? [];
      const keyRow = rows.find((row) => row.kind === 'k');
      if (rows.some((row) => row.kind === 't')) {
        markErased(k);
        out.set(k, { ok: false, error: erasedError(r) });
        continue;
      }
      if (!keyRow) {
        // A refused insert with neither a tombstone nor a key row cannot happen while we hold the lock.
        out.set(k, { ok: false, error: new Error(`pii key store: subject ${r.subjectId} has neither a key nor a tombstone after a refused insert`) });
        continue;
      }
      try {
        const key = unwrap(r, keyRow.wrapped_key!, keyRow.master_key_id!);
        live.set(k, key);
        out.set(k, { ok: true, key });
      } catch (error) {
        out.set(k, { ok: false, error });
      }
    }
    return out;
  };

  return {
    lookup,

    async getOrCreate(ref) {
      const k = subjectKey(ref);
      if (erased.get(k)) throw erasedError(ref);
      if (live.get(k)) {
        // Known here: the usual lookup (no statement while fresh; past the TTL it asks for destructions).
        const found = (await lookup([ref])).get(k)!;
        if (found.state === 'live') return found.key;
        if (found.state === 'erased') throw erasedError(ref);
      }
      // Not known to this process: straight to the creation transaction, which answers from the table
      // under the subject's lock (an existing key, a tombstone, or a new key) — no lookup before it.
      return create(ref);
    },

    async destroy(ref, by) {
      const destroyedAt = new Date(now()).toISOString();
      const record = await client.transaction(async (tx) => {
        await lockSubject(tx, ref);
        const earlier = await selectTombstone(tx, ref);
        if (earlier) return earlier;
        // The row lock on the epoch counter orders destructions by commit (see the header comment).
        const { rows: e } = await tx.query<{ epoch: string }>(`UPDATE pii_key_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch::text AS epoch`);
        const deleted = await tx.query(`DELETE FROM pii_data_keys WHERE tenant_id = $1 AND subject_id = $2 RETURNING 1 AS ok`, [ref.tenantId, ref.subjectId]);
        const { rows } = await tx.query<TombstoneRow>(
          `INSERT INTO pii_key_tombstones (tenant_id, subject_id, epoch, destroyed_at, actor, reason, key_existed)
           VALUES ($1, $2, $3::bigint, $4::timestamptz, $5, $6, $7) RETURNING ${TOMBSTONE_COLUMNS}`,
          [ref.tenantId, ref.subjectId, e[0]!.epoch, destroyedAt, by.actor, by.reason, deleted.rows.length > 0],
        );
        return toDestruction(rows[0]!);
      });
      markErased(subjectKey(ref));
      return record;
    },

    async destruction(ref) {
      return selectTombstone(client, ref);
    },
  };
}

export interface RotationReport {
  /** Keys re-wrapped from the old master key to the new one by this call. */
  readonly rewrapped: number;
  /** Keys wrapped by neither the old nor the new master key (a third key: an earlier rotation left unfinished). */
  readonly underOtherKeys: number;
}

/**
 * Master-key rotation: re-wraps every data key wrapped by `oldKey` under `newKey`, in batches, each batch
 * one transaction (rows locked, SKIP LOCKED so two runs share the work). Data keys themselves do not
 * change, so no event is touched and no cache needs invalidating. Resumable: a run that stops half-way
 * leaves every row wrapped by one of the two keys, and the next run continues. While it runs, services
 * should hold `newKey` as their master key and `oldKey` among `previousMasterKeys`; afterwards the old key
 * can be dropped, and it no longer unwraps anything.
 */
export async function rotateMasterKey(
  client: SqlClient,
  oldKey: MasterKey,
  newKey: MasterKey,
  options: { readonly batchSize?: number } = {},
): Promise<RotationReport> {
  await migrate(client, keyStoreMigrations);
  const batchSize = options.batchSize ?? 500;
  let rewrapped = 0;
  if (oldKey.id !== newKey.id) {
    for (;;) {
      const n = await client.transaction(async (tx) => {
        const { rows } = await tx.query<{ tenant_id: string; subject_id: string; wrapped_key: string }>(
          `SELECT tenant_id, subject_id, wrapped_key FROM pii_data_keys WHERE master_key_id = $1
           ORDER BY tenant_id, subject_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [oldKey.id, batchSize],
        );
        if (rows.length === 0) return 0;
        const wrapped = rows.map((r) => {
          const raw = unwrapKey(oldKey.kek, r.tenant_id, r.subject_id, r.wrapped_key);
          if (!raw) {
            throw new PiiError(PiiErrorCode.KeyUnwrapFailed, `the data key of subject ${r.subject_id} does not unwrap under master key ${oldKey.id}; nothing of this batch was changed`, {}, {
              tenantId: r.tenant_id,
              subjectId: r.subject_id,
              masterKeyId: oldKey.id,
            });
          }
          return wrapKey(newKey.kek, r.tenant_id, r.subject_id, raw);
        });
        await tx.query(
          `UPDATE pii_data_keys k SET wrapped_key = u.wrapped_key, master_key_id = $4, rewrapped_at = now()
             FROM unnest($1::text[], $2::text[], $3::text[]) AS u(tenant_id, subject_id, wrapped_key)
            WHERE k.tenant_id = u.tenant_id AND k.subject_id = u.subject_id AND k.master_key_id = $5`,
          [rows.map((r) => r.tenant_id), rows.map((r) => r.subject_id), wrapped, newKey.id, oldKey.id],
        );
        return rows.length;
      });
      rewrapped += n;
      if (n < batchSize) break;
    }
  }
  const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM pii_data_keys WHERE master_key_id NOT IN ($1, $2)`, [oldKey.id, newKey.id]);
  return { rewrapped, underOtherKeys: Number(rows[0]!.n) };
}
