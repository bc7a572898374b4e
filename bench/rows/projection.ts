import type { CaseSpec, PendingRow, Row, RowModule } from '../lib/types.js';

/**
 * The PostgreSQL projector, measured by bench/projection-catchup.ts in a fresh process per round: the
 * catch-up rate against a raw bulk INSERT of the same rows (one case yields both), and the end-to-end
 * lag (append → relay → Kafka → projector → row visible) at 200 appends/s. Needs Kafka.
 */
const TITLES = {
  catchUp: 'Projections: catch-up from Kafka into a PostgreSQL read model (GDPR codec on: personal fields decrypted, a new subject per event)',
  catchUpPlain: 'Projections: catch-up, GDPR codec off (PII_ENCRYPTION=off), same run',
  lag: 'Projections: end-to-end lag at 200 appends/s (store → relay → Kafka → read model)',
};

export const rows: RowModule['rows'] = ({ quick }) => {
  if (!process.env.KAFKA_BROKERS) return [];
  const spec: CaseSpec = {
    workload: 'projection',
    system: 'projection-script',
    // pii 'both': the catch-up runs codec off, then codec on (our default), each next to its own raw INSERT.
    params: quick ? { events: 3_000, rate: 200, seconds: 5, pii: 'both' } : { events: 20_000, rate: 200, seconds: 15, pii: 'both' },
  };
  const base = { ours: spec, quickRounds: 1 };
  return [
    {
      ...base,
      id: 'projection-catchup',
      title: TITLES.catchUp,
      unit: 'events/s',
      higherIsBetter: true,
      baseline: spec,
      baselineLabel: 'raw multi-row INSERT',
      metric: { ours: 'encryptedEventsPerSec', baseline: 'encryptedRawRowsPerSec' },
      target: { ratio: 0.33, label: 'within 3× of raw INSERT' },
    },
    {
      ...base,
      id: 'projection-catchup-plain',
      title: TITLES.catchUpPlain,
      unit: 'events/s',
      higherIsBetter: true,
      baseline: spec,
      baselineLabel: 'raw multi-row INSERT',
      metric: { baseline: 'rawRowsPerSec' },
      target: { ratio: 0.33, label: 'within 3× of raw INSERT' },
    },
    { ...base, id: 'projection-lag-p50', title: TITLES.lag, unit: 'p50 ms', higherIsBetter: false, metric: { ours: 'lagP50Ms' } },
    { ...base, id: 'projection-lag-p99', title: TITLES.lag, unit: 'p99 ms', higherIsBetter: false, metric: { ours: 'lagP99Ms' }, target: { value: 250, label: 'p99 < 250 ms' } },
  ] satisfies Row[];
};

export const pending: RowModule['pending'] = () =>
  process.env.KAFKA_BROKERS
    ? []
    : [TITLES.catchUp, TITLES.catchUpPlain, TITLES.lag].map(
        (title): PendingRow => ({
          id: 'projections',
          title,
          status: 'not measured in this run: KAFKA_BROKERS is not set (`node scripts/cli/annals.mjs stack up`, then `eval "$(node scripts/cli/annals.mjs stack env)"`)',
        }),
      );
