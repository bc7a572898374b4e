import { randomUUID } from 'node:crypto';

/** An event as a command handler would hand it to a store: a plain object, not yet serialised. */
export interface BenchEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly metadata: {
    readonly tenantId: string;
    readonly actor: { readonly userId: string; readonly roles: string[] };
    readonly correlationId: string;
    readonly causationId: string;
    readonly occurredAt: string;
    /** The data subject, as the command handlers set it: the GDPR codec keys personal fields by it. */
    readonly subjectId: string;
  };
}

const SOURCES = ['web', 'email', 'phone', 'event', 'referral', 'social'] as const;
const KINDS = ['email', 'call', 'meeting', 'note'] as const;
const SUMMARY =
  'Spoke with the prospect about the rollout plan for the regional sales team; they want a demo of the pipeline reports, ' +
  'pricing for 40 seats and a follow-up with procurement next week, after their IT team reviews SSO and data residency.';

/**
 * The events of one lead stream, from `fromRevision` on: a `LeadCaptured` first, then activities.
 * Each serialises to about 400 bytes of `data` (plus about 230 of metadata), a realistic CRM size,
 * and every one passes the real zod schemas (schemas/events/lead.ts).
 */
export function leadEvents(leadId: string, fromRevision: number, count: number, tenant = 'tenant-bench'): BenchEvent[] {
  const out: BenchEvent[] = [];
  for (let i = 0; i < count; i++) {
    const revision = fromRevision + i;
    const now = new Date().toISOString();
    const metadata = {
      tenantId: tenant,
      actor: { userId: 'user-7f3a9c', roles: ['sales'] },
      correlationId: randomUUID(),
      causationId: randomUUID(),
      occurredAt: now,
      subjectId: leadId,
    };
    if (revision === 0) {
      out.push({
        type: 'LeadCaptured',
        data: {
          leadId,
          name: 'Margaret Oyelaran-Whitfield',
          email: `margaret.${leadId.slice(0, 8)}@northwind-logistics.example`,
          phone: '+44 20 7946 0958',
          company: 'Northwind Logistics Ltd',
          source: SOURCES[revision % SOURCES.length],
          campaign: 'Q3 logistics webinar series',
          notes: 'Met at the Manchester supply-chain expo; interested in fleet CRM integration and a pilot for two depots.',
          capturedAt: now,
        },
        metadata,
      });
    } else {
      out.push({
        type: 'LeadActivityLogged',
        data: {
          leadId,
          kind: KINDS[revision % KINDS.length],
          summary: `${SUMMARY} (#${revision})`,
          direction: 'outbound',
          occurredAt: now,
        },
        metadata,
      });
    }
  }
  return out;
}
