import type { Row, RowModule, SystemName } from '../lib/types.js';

/**
 * Reading one stream of 1,000 events into objects: ours (parseEvent on every event) vs emmett vs raw
 * SELECT; and ours with the GDPR codec on (every personal field decrypted) against ours with it off.
 */
export const rows: RowModule['rows'] = ({ quick }) => {
  const spec = (system: SystemName) => ({ workload: 'read', system, params: { length: 1_000, reads: quick ? 10 : 50 } });
  const base = { title: 'Read a stream of 1,000 events (PostgreSQL)', unit: 'events/s', higherIsBetter: true, ours: spec('ours-pg') };
  return [
    { ...base, id: 'read-pg-1000-raw', baseline: spec('raw-pg'), baselineLabel: 'raw SELECT + JSON.parse' } satisfies Row,
    { ...base, id: 'read-pg-1000-emmett', baseline: spec('emmett-pg'), baselineLabel: 'emmett 0.42' } satisfies Row,
    {
      ...base,
      id: 'read-pg-pii-1000-plain',
      title: 'Read a stream of 1,000 events (PostgreSQL, codec on)',
      ours: spec('ours-pg-pii'),
      baseline: spec('ours-pg'),
      baselineLabel: 'ours, codec off',
    } satisfies Row,
  ];
};
