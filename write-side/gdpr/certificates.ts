import type { SqlClient } from '../../platform/sql/client.js';
import { migrate, type Migration } from '../../platform/sql/migrate.js';

/**
 * Durable state of each erasure (one row per tenant + subject), beside the key tables (KEYSTORE_URL, else
 * the read database). It is what makes the workflow resumable: each step records that it is done before
 * the next starts, and a retry or a restart continues from the recorded step. It holds no personal value:
 * the values to search are kept only as keyed salted hashes, and the certificate is stored here once
 * every store scanned clean.
 */
export type ErasureStep = 'captured' | 'keys-destroyed' | 'events-appended' | 'certified';

/** Who asked to erase whom, when and why: the same on the recorded row and on the certificate. */
export interface ErasureRequest {
  readonly tenantId: string;
  readonly subjectId: string;
  readonly subjectType: 'contact' | 'lead';
  readonly linkedSubjectIds: readonly string[];
  readonly requestId: string;
  readonly actor: string;
  readonly reason: string;
  readonly requestedAt: string;
}

export interface ErasureRow extends ErasureRequest {
  readonly step: ErasureStep;
  readonly salt: string;
  readonly valueHashes: readonly string[];
  /** What the capture found: counts and tampered coordinates (no values). */
  readonly capture: CaptureSummary;
  readonly keyDestroyedAt: string | undefined;
  readonly erasurePosition: string | undefined;
  readonly certificate: ErasureCertificate | undefined;
}

export interface CaptureSummary {
  readonly values: number;
  /** Values not searched: shorter than 2 characters, or also held as non-personal data of the subject. */
  readonly excluded: number;
  readonly tampered: readonly string[];
  /** The key was already destroyed when the capture ran (nothing left to capture). */
  readonly keyAlreadyDestroyed: boolean;
}

export interface StoreReport {
  readonly store: string;
  readonly valuesSearched: readonly string[];
  readonly found: number;
  readonly examined: number;
  readonly elapsedMs: number;
  readonly locations: readonly string[];
  readonly tampered?: readonly string[];
  readonly incomplete?: string;
}

export interface ProjectorReport {
  readonly name: string;
  readonly appliedPosition: string | null;
  readonly passed: boolean;
}

export interface ErasureCertificate extends ErasureRequest {
  readonly schemaVersion: 1;
  readonly keyDestroyedAt: string;
  readonly keyDestructions: ReadonlyArray<{ subjectId: string; destroyedAt: string; keyExisted: boolean }>;
  readonly erasurePosition: string;
  readonly projectors: readonly ProjectorReport[];
  readonly projectorsWaitMs: number;
  readonly capture: CaptureSummary;
  /** HMAC-SHA256 of salt + value under a key derived from the master key; the salt is this erasure's. */
  readonly hashAlgorithm: 'hmac-sha256(annals/gdpr/value-hash/v1)';
  readonly salt: string;
  readonly stores: readonly StoreReport[];
  readonly scanStartedAt: string;
  readonly completedAt: string;
  readonly clean: boolean;
}

export const erasureMigrations: readonly Migration[] = [
  {
    name: 'gdpr/001-erasures',
    sql: `
      CREATE TABLE gdpr_erasures (
        tenant_id          text NOT NULL,
        subject_id         text NOT NULL,
        subject_type       text NOT NULL,
        linked_subject_ids text[] NOT NULL,
        request_id         text NOT NULL,
        actor              text NOT NULL,
        reason             text NOT NULL,
        requested_at       timestamptz NOT NULL,
        step               text NOT NULL CHECK (step IN ('captured', 'keys-destroyed', 'events-appended', 'certified')),
        salt               text NOT NULL,
        value_hashes       text[] NOT NULL,
        capture            jsonb NOT NULL,
        key_destroyed_at   timestamptz,
        erasure_position   text,
        certificate        jsonb,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, subject_id)
      );
      CREATE INDEX gdpr_erasures_pending ON gdpr_erasures (step) WHERE step <> 'certified';
    `,
  },
];

export interface ErasureRecords {
  get(tenantId: string, subjectId: string): Promise<ErasureRow | undefined>;
  /** Inserts the captured row; if another request got there first, returns that row instead. */
  start(row: ErasureRow): Promise<ErasureRow>;
  /** Records a step as done; a certified erasure never changes again (two racing requests: the first certificate stays). */
  advance(tenantId: string, subjectId: string, step: ErasureStep, fields: { keyDestroyedAt?: string; erasurePosition?: string; certificate?: ErasureCertificate }): Promise<void>;
  pending(): Promise<ReadonlyArray<{ tenantId: string; subjectId: string }>>;
}

interface Db {
  tenant_id: string;
  subject_id: string;
  subject_type: 'contact' | 'lead';
  linked_subject_ids: string[];
  request_id: string;
  actor: string;
  reason: string;
  requested_at: string;
  step: ErasureStep;
  salt: string;
  value_hashes: string[];
  capture: CaptureSummary | string;
  key_destroyed_at: string | null;
  erasure_position: string | null;
  certificate: ErasureCertificate | string | null;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const SELECT = `SELECT tenant_id, subject_id, subject_type, linked_subject_ids, request_id, actor, reason,
  to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS requested_at, step, salt, value_hashes, capture,
  to_char(key_destroyed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS key_destroyed_at, erasure_position, certificate FROM gdpr_erasures`;

const fromDb = (r: Db): ErasureRow => ({
  tenantId: r.tenant_id,
  subjectId: r.subject_id,
  subjectType: r.subject_type,
  linkedSubjectIds: r.linked_subject_ids,
  requestId: r.request_id,
  actor: r.actor,
  reason: r.reason,
  requestedAt: r.requested_at,
  step: r.step,
  salt: r.salt,
  valueHashes: r.value_hashes,
  capture: json(r.capture),
  keyDestroyedAt: r.key_destroyed_at ?? undefined,
  erasurePosition: r.erasure_position ?? undefined,
  certificate: r.certificate === null ? undefined : json(r.certificate),
});

export async function sqlErasureRecords(sql: SqlClient): Promise<ErasureRecords> {
  await migrate(sql, erasureMigrations);
  const get = async (tenantId: string, subjectId: string) => {
    const { rows } = await sql.query<Db>(`${SELECT} WHERE tenant_id = $1 AND subject_id = $2`, [tenantId, subjectId]);
    return rows[0] ? fromDb(rows[0]) : undefined;
  };
  return {
    get,
    async start(row) {
      await sql.query(
        `INSERT INTO gdpr_erasures (tenant_id, subject_id, subject_type, linked_subject_ids, request_id, actor, reason, requested_at, step, salt, value_hashes, capture)
         VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8::timestamptz, 'captured', $9, $10::text[], $11::jsonb)
         ON CONFLICT (tenant_id, subject_id) DO NOTHING`,
        [row.tenantId, row.subjectId, row.subjectType, row.linkedSubjectIds, row.requestId, row.actor, row.reason, row.requestedAt, row.salt, row.valueHashes, JSON.stringify(row.capture)],
      );
      return (await get(row.tenantId, row.subjectId))!;
    },
    async advance(tenantId, subjectId, step, fields) {
      await sql.query(
        `UPDATE gdpr_erasures SET step = $3, key_destroyed_at = coalesce(key_destroyed_at, $4::timestamptz),
           erasure_position = coalesce($5, erasure_position), certificate = coalesce($6::jsonb, certificate), updated_at = now()
         WHERE tenant_id = $1 AND subject_id = $2 AND step <> 'certified'`,
        [tenantId, subjectId, step, fields.keyDestroyedAt ?? null, fields.erasurePosition ?? null, fields.certificate ? JSON.stringify(fields.certificate) : null],
      );
    },
    async pending() {
      const { rows } = await sql.query<{ tenant_id: string; subject_id: string }>(`SELECT tenant_id, subject_id FROM gdpr_erasures WHERE step <> 'certified' ORDER BY requested_at`);
      return rows.map((r) => ({ tenantId: r.tenant_id, subjectId: r.subject_id }));
    },
  };
}
