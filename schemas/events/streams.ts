/**
 * Stream names are part of the contract: `<aggregate>-<id>`, one stream per aggregate instance.
 * Every layer (command handlers, relay topic routing, replay) derives names from here only.
 */
export const aggregates = ['lead', 'contact', 'deal', 'consent', 'budget'] as const;
export type AggregateName = (typeof aggregates)[number];

export const streamName = {
  lead: (id: string) => `lead-${id}`,
  contact: (id: string) => `contact-${id}`,
  deal: (id: string) => `deal-${id}`,
  consent: (subjectId: string) => `consent-${subjectId}`,
  budget: (id: string) => `budget-${id}`,
} as const satisfies Record<AggregateName, (id: string) => string>;

export function parseStreamName(streamId: string): { aggregate: AggregateName; id: string } | undefined {
  const dash = streamId.indexOf('-');
  if (dash < 0) return undefined;
  const aggregate = streamId.slice(0, dash) as AggregateName;
  if (!aggregates.includes(aggregate)) return undefined;
  return { aggregate, id: streamId.slice(dash + 1) };
}
