import type { Row, RowModule, SystemName } from '../lib/types.js';

/**
 * Append throughput: our event store (zod validation + annals_append_many, group commit) against emmett's PostgreSQL
 * event store and a raw multi-row INSERT on the same server, at concurrency 1 and 16, batches of 1
 * and 10; and on PGlite against a raw INSERT on PGlite. Each server row is there twice: with the
 * GDPR codec off (`ours-pg`) and on (`ours-pg-pii`, as every service runs: personal fields sealed,
 * one new data key per lead), held to the same targets; a third row per cell gives the codec's cost,
 * codec on against codec off in the same rounds.
 */
export const rows: RowModule['rows'] = ({ quick }) => {
  const events = quick ? 1_000 : 10_000;
  const spec = (system: SystemName, concurrency: number, batch: number) => ({
    workload: 'append',
    system,
    params: { concurrency, batch, events, appendsPerStream: 10 },
  });
  const out: Row[] = [];
  for (const [system, codec] of [['ours-pg', ''], ['ours-pg-pii', ' (codec on)']] as const) {
    const prefix = system === 'ours-pg' ? 'append-pg' : 'append-pg-pii';
    for (const concurrency of [1, 16]) {
      for (const batch of [1, 10]) {
        const title = `Append to PostgreSQL${codec}, concurrency ${concurrency}, batch ${batch}`;
        const base = { unit: 'events/s', higherIsBetter: true, ours: spec(system, concurrency, batch), title };
        out.push({
          ...base,
          id: `${prefix}-c${concurrency}-b${batch}-raw`,
          baseline: spec('raw-pg', concurrency, batch),
          baselineLabel: 'raw INSERT',
          ...(concurrency === 16 ? { target: { ratio: 0.5, label: '≥ 50% of raw INSERT' } } : {}),
        });
        out.push({
          ...base,
          id: `${prefix}-c${concurrency}-b${batch}-emmett`,
          baseline: spec('emmett-pg', concurrency, batch),
          baselineLabel: 'emmett 0.42',
          ...(batch === 10 ? { target: { ratio: 1.2, label: '≥ 1.2× emmett' } } : {}),
        });
        if (system === 'ours-pg-pii') {
          out.push({
            ...base,
            id: `${prefix}-c${concurrency}-b${batch}-plain`,
            baseline: spec('ours-pg', concurrency, batch),
            baselineLabel: 'ours, codec off',
          });
        }
      }
    }
  }
  for (const batch of [1, 10]) {
    out.push({
      id: `append-pglite-c1-b${batch}-raw`,
      title: `Append to PGlite, concurrency 1, batch ${batch}`,
      unit: 'events/s',
      higherIsBetter: true,
      ours: spec('ours-pglite', 1, batch),
      baseline: spec('raw-pglite', 1, batch),
      baselineLabel: 'raw INSERT (PGlite)',
    });
  }
  return out;
};
