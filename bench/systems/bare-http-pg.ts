import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { BENCH_PRINCIPAL, benchStore, listen, type HttpService } from './http-common.js';

/**
 * The floor for the command API: one bare fastify route (no logger, no auth, no body schema, no
 * idempotency, no decider, no stream read) that turns the body into the same LeadCaptured event and
 * appends it with the same facade call handleCommand makes (`no_stream`), then answers 201 with the
 * same `{ id, revision, position }`. What any HTTP command endpoint on this store pays at least.
 */
export async function serve({ poolSize }: { poolSize: number }): Promise<HttpService> {
  const { store, sql } = await benchStore(poolSize);
  const app = Fastify();
  app.post('/api/v1/leads', async (request, reply) => {
    const leadId = uuidv7();
    const now = new Date().toISOString();
    const result = await store.append(
      `lead-${leadId}`,
      [
        {
          type: 'LeadCaptured',
          data: { ...(request.body as Record<string, unknown>), leadId, capturedAt: now },
          metadata: {
            tenantId: BENCH_PRINCIPAL.tenant,
            actor: { userId: BENCH_PRINCIPAL.sub, roles: BENCH_PRINCIPAL.roles },
            correlationId: randomUUID(),
            causationId: randomUUID(),
            occurredAt: now,
            subjectId: leadId,
          },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    reply.code(201);
    return { id: leadId, revision: result.nextExpectedRevision.toString(), position: result.position.toString() };
  });
  return listen(app, store, sql);
}
