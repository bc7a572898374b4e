import { createHash } from 'node:crypto';
import { createChainWalker, type ChainLinkBreak, type HeadsDigest } from '../../platform/event-store/chain-walk.js';
import type { EventStoreAdapter } from '../../platform/event-store/port.js';
import type { SqlClient, SqlExecutor } from '../../platform/sql/client.js';
import { migrate, type Migration } from '../../platform/sql/migrate.js';

/**
 * Chain anchors: a digest over every stream's head (id, revision, hash) at a global position, written after
 * the store verified intact up to that position. A later verification recomputes the heads as of each
 * anchor's position; a stream deleted whole or cut short changes them, which a per-stream chain alone
 * cannot show.
 *
 * Where they are stored, and why: in the READ database (`annals_chain_anchors`), not in the event store.
 * - Someone who can rewrite the event store's rows must then also rewrite another database (in production
 *   another server, with other credentials) to hide it.
 * - The same table serves both event-store adapters (EventStoreDB has no tables, and an anchor stream
 *   there would flow through the relay to every consumer).
 * - Anchors are chained to each other (`anchor_hash` covers the previous one's), so removing or editing
 *   one in the middle is reported too; the newest anchor's hash is printed (`annals replay chain anchors`)
 *   so an operator can keep it outside both databases (a ticket, a log shipper): the one copy nobody
 *   with database access can reach. A rebuild never touches this table (it is no read model).
 * Limits: events appended after the newest anchor are covered by their chains only (cutting them off is
 * seen at the next anchor, not before); deleting the anchor table itself is seen only against a copy kept
 * outside.
 */
export const chainAnchorMigrations: readonly Migration[] = [
  {
    name: 'replay/001-chain-anchors',
    sql: `
CREATE TABLE IF NOT EXISTS annals_chain_anchors (
  seq           bigint      PRIMARY KEY,
  position      bigint      NOT NULL,
  streams       bigint      NOT NULL,
  events        bigint      NOT NULL,
  heads_digest  text        NOT NULL,
  prev_hash     text        NOT NULL,
  anchor_hash   text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
`,
  },
];

export interface ChainAnchor {
  readonly seq: bigint;
  readonly position: bigint;
  readonly streams: number;
  readonly events: bigint;
  readonly headsDigest: string;
  readonly prevHash: string;
  readonly anchorHash: string;
  readonly createdAt: Date;
}

/** The anchor's own hash: it covers the previous anchor's, so the anchors form a chain of their own. */
export function anchorHash(a: Pick<ChainAnchor, 'seq' | 'position' | 'streams' | 'events' | 'headsDigest' | 'prevHash'>): string {
  return createHash('sha256').update([a.prevHash, a.seq, a.position, a.streams, a.events, a.headsDigest].join('\n')).digest('hex');
}

export async function readAnchors(sql: SqlExecutor): Promise<ChainAnchor[]> {
  const { rows } = await sql.query<{ seq: string; position: string; streams: string; events: string; heads_digest: string; prev_hash: string; anchor_hash: string; created_at: Date | string }>(
    `SELECT seq::text, position::text, streams::text, events::text, heads_digest, prev_hash, anchor_hash, created_at FROM annals_chain_anchors ORDER BY seq`,
  );
  return rows.map((r) => ({
    seq: BigInt(r.seq),
    position: BigInt(r.position),
    streams: Number(r.streams),
    events: BigInt(r.events),
    headsDigest: r.heads_digest,
    prevHash: r.prev_hash,
    anchorHash: r.anchor_hash,
    createdAt: new Date(r.created_at),
  }));
}

export async function ensureAnchorTable(sql: SqlClient): Promise<void> {
  await migrate(sql, chainAnchorMigrations);
}

/** Appends an anchor after the newest one (serialised by an advisory lock, so two runs never fork the anchor chain). */
export async function writeAnchor(sql: SqlClient, position: bigint, heads: HeadsDigest): Promise<ChainAnchor> {
  await ensureAnchorTable(sql);
  return sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('annals_chain_anchors'))`);
    const { rows } = await tx.query<{ seq: string; anchor_hash: string }>(`SELECT seq::text, anchor_hash FROM annals_chain_anchors ORDER BY seq DESC LIMIT 1`);
    const seq = rows[0] ? BigInt(rows[0].seq) + 1n : 1n;
    const fields = { seq, position, streams: heads.streams, events: heads.events, headsDigest: heads.digest, prevHash: rows[0]?.anchor_hash ?? '' };
    const hash = anchorHash(fields);
    const inserted = await tx.query<{ created_at: Date | string }>(
      `INSERT INTO annals_chain_anchors(seq, position, streams, events, heads_digest, prev_hash, anchor_hash) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at`,
      [seq.toString(), position.toString(), heads.streams, heads.events.toString(), heads.digest, fields.prevHash, hash],
    );
    return { ...fields, anchorHash: hash, createdAt: new Date(inserted.rows[0]!.created_at) };
  });
}

export interface AnchorMismatch {
  readonly anchor: ChainAnchor;
  /** `heads`: the store's heads at the anchor's position differ; `anchor-chain`: the anchor table itself was edited. */
  readonly kind: 'heads' | 'anchor-chain';
  readonly found?: HeadsDigest;
  readonly detail: string;
}

export interface ChainReport {
  readonly scope: { readonly stream: string } | 'all';
  readonly events: number;
  readonly streams: number;
  /** Highest position verified (the head when the run started, for --all). */
  readonly position: bigint | undefined;
  readonly breaks: readonly ChainLinkBreak[];
  readonly anchorsChecked: number;
  readonly anchorMismatches: readonly AnchorMismatch[];
  readonly elapsedMs: number;
  /** The anchor this run wrote (only after a clean --all run, and only when asked to). */
  readonly anchorWritten?: ChainAnchor | undefined;
}

export interface VerifyChainsOptions {
  readonly adapter: EventStoreAdapter;
  /** The read database (anchors); without it anchors are neither checked nor written. */
  readonly anchorsSql?: SqlClient | undefined;
  /** One stream, or every stream through `$all` in bounded batches. */
  readonly stream?: string | undefined;
  readonly batchSize?: number;
  /** Write an anchor at the verified head when the whole store verified clean (default true). */
  readonly writeAnchor?: boolean;
  readonly onProgress?: (p: { events: number; position: bigint; head: bigint }) => void;
  readonly signal?: AbortSignal;
}

/**
 * Verifies one stream's chain, or every stream's in one pass over `$all` (bounded batches, memory per
 * stream, not per event), checking every anchor on the way: each anchor's position is passed by the walk,
 * and the heads seen at that moment must digest to what the anchor recorded. The walk stops at the head it
 * found when it started, so an anchor written afterwards describes exactly what was verified.
 */
export async function verifyChains(options: VerifyChainsOptions): Promise<ChainReport> {
  const started = Date.now();
  const walker = createChainWalker();
  if (options.stream !== undefined) {
    const records = await options.adapter.readStream(options.stream);
    for (const r of records) walker.add(r);
    return {
      scope: { stream: options.stream },
      events: walker.events,
      streams: records.length > 0 ? 1 : 0,
      position: records[records.length - 1]?.position,
      breaks: walker.breaks,
      anchorsChecked: 0,
      anchorMismatches: [],
      elapsedMs: Date.now() - started,
    };
  }

  let anchors: ChainAnchor[] = [];
  if (options.anchorsSql) {
    await ensureAnchorTable(options.anchorsSql);
    anchors = await readAnchors(options.anchorsSql);
  }
  const mismatches: AnchorMismatch[] = [];
  // The anchors' own chain first: an edited or removed anchor is a finding on its own.
  let prev = '';
  anchors.forEach((a, i) => {
    const expectedSeq = BigInt(i + 1);
    const recomputed = anchorHash(a);
    if (a.seq !== expectedSeq) mismatches.push({ anchor: a, kind: 'anchor-chain', detail: `anchor #${a.seq} follows #${expectedSeq - 1n}: an anchor is missing` });
    else if (a.prevHash !== prev) mismatches.push({ anchor: a, kind: 'anchor-chain', detail: `anchor #${a.seq} does not link to the previous anchor` });
    else if (recomputed !== a.anchorHash) mismatches.push({ anchor: a, kind: 'anchor-chain', detail: `anchor #${a.seq} was edited: hash expected ${recomputed} found ${a.anchorHash}` });
    prev = a.anchorHash;
  });

  const byPosition = [...anchors].sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  let next = 0;
  const checkAnchorsBelow = (bound: bigint | undefined) => {
    // Every anchor at a position < bound (undefined: all remaining) is due: the walk holds exactly the heads at its position.
    while (next < byPosition.length && (bound === undefined || byPosition[next]!.position < bound)) {
      const a = byPosition[next++]!;
      const found = walker.headsDigest();
      if (found.digest !== a.headsDigest || found.streams !== a.streams || found.events !== a.events) {
        mismatches.push({
          anchor: a,
          kind: 'heads',
          found,
          detail: `anchor #${a.seq} at position ${a.position}: ${a.streams} streams / ${a.events} events expected, ${found.streams} / ${found.events} found; heads digest expected ${a.headsDigest} found ${found.digest}`,
        });
      }
    }
  };

  const head = await options.adapter.headPosition();
  const batchSize = options.batchSize ?? 5_000;
  let after: bigint | undefined;
  let position: bigint | undefined;
  outer: while (head !== undefined) {
    if (options.signal?.aborted) throw new Error('chain verify: aborted');
    const batch = await options.adapter.readAll({ after, maxCount: batchSize });
    if (batch.length === 0) break;
    for (const r of batch) {
      if (r.position > head) break outer;
      checkAnchorsBelow(r.position);
      walker.add(r);
      position = r.position;
    }
    after = batch[batch.length - 1]!.position;
    options.onProgress?.({ events: walker.events, position: after, head });
    if (after >= head) break;
  }
  checkAnchorsBelow(undefined);

  let anchorWritten: ChainAnchor | undefined;
  const clean = walker.breaks.length === 0 && mismatches.length === 0;
  if (clean && options.anchorsSql && (options.writeAnchor ?? true) && position !== undefined && (byPosition.length === 0 || byPosition[byPosition.length - 1]!.position < position)) {
    anchorWritten = await writeAnchor(options.anchorsSql, position, walker.headsDigest());
  }
  return {
    scope: 'all',
    events: walker.events,
    streams: walker.heads.size,
    position,
    breaks: walker.breaks,
    anchorsChecked: anchors.length,
    anchorMismatches: mismatches,
    elapsedMs: Date.now() - started,
    anchorWritten,
  };
}
