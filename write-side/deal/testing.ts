import type { FastifyInstance } from 'fastify';
import type { EventStore } from '../../platform/event-store/event-store.js';
import { streamName } from '../../schemas/events/streams.js';

/**
 * Test support (not production code). The If-Match race of the acceptance criteria, shared by the PGlite
 * unit test and the PostgreSQL integration test: `movers` clients each read the deal's revision (as a UI would from the ETag of its
 * last answer), then all send a stage move with that If-Match at once, against whatever the stream has
 * become. A correct server accepts each revision at most once and answers every loser 409.
 */
export interface RaceResult {
  readonly accepted: number;
  readonly conflicts: number;
  readonly unexpected: readonly string[];
  /** DealStageMoved events the stream holds after the race. */
  readonly streamMoves: number;
  readonly uniqueRevisionsAccepted: number;
  /** Distinct If-Match values sent: each may succeed at most once, and the first to land does. */
  readonly distinctIfMatch: number;
  /** Accepted answers per If-Match value that was accepted more than once (a lost update): must be empty. */
  readonly ifMatchAcceptedTwice: Readonly<Record<string, number>>;
  readonly ms: number;
}

const STAGES = ['qualification', 'proposal', 'negotiation', 'prospecting'];

export async function stageMoveRace(o: { app: FastifyInstance; store: EventStore; headers: Record<string, string>; dealId: string; movers: number }): Promise<RaceResult> {
  const before = (await o.store.readStream(streamName.deal(o.dealId))).length;
  const started = performance.now();
  // Clients see different revisions over time: waves of movers, each wave using the revision it last saw.
  const answers = await Promise.all(
    Array.from({ length: o.movers }, async (_, i) => {
      // 20 waves, 25 ms apart: later waves read revisions the earlier ones produced.
      await new Promise((r) => setTimeout(r, (i % 20) * 25));
      const events = await o.store.readStream(streamName.deal(o.dealId));
      const revision = events.length - 1;
      const last = events[events.length - 1]!;
      const current = last.type === 'DealStageMoved' ? last.data.to : last.type === 'DealOpened' ? last.data.stage : 'prospecting';
      const next = STAGES.filter((s) => s !== current)[i % 3]!;
      const res = await o.app.inject({
        method: 'POST',
        url: `/api/v1/deals/${o.dealId}/stage`,
        headers: { ...o.headers, 'content-type': 'application/json', 'if-match': `"${revision}"` },
        payload: JSON.stringify({ stage: next }),
      });
      return { ifMatch: revision, status: res.statusCode, body: res.body, revision: res.statusCode === 200 ? (JSON.parse(res.body) as { revision: string }).revision : undefined };
    }),
  );
  const ms = performance.now() - started;
  const after = await o.store.readStream(streamName.deal(o.dealId));
  const accepted = answers.filter((a) => a.status === 200);
  const perIfMatch = new Map<number, number>();
  for (const a of accepted) perIfMatch.set(a.ifMatch, (perIfMatch.get(a.ifMatch) ?? 0) + 1);
  return {
    distinctIfMatch: new Set(answers.map((a) => a.ifMatch)).size,
    ifMatchAcceptedTwice: Object.fromEntries([...perIfMatch].filter(([, n]) => n > 1).map(([r, n]) => [String(r), n])),
    accepted: accepted.length,
    conflicts: answers.filter((a) => a.status === 409 && a.body.includes('STREAM_ERR_REVISION_MISMATCH')).length,
    unexpected: answers.filter((a) => a.status !== 200 && !(a.status === 409 && a.body.includes('STREAM_ERR_REVISION_MISMATCH'))).map((a) => `${a.status} ${a.body}`),
    streamMoves: after.length - before,
    uniqueRevisionsAccepted: new Set(accepted.map((a) => a.revision)).size,
    ms,
  };
}
