import type { AnalyticsEngine } from '../../platform/analytics/port.js';
import { EVENTS_VIEW, eventColumns, eventsTable } from '../../schemas/read-models/clickhouse/events.js';
import { str } from '../../schemas/read-models/clickhouse/sql.js';
import type { Comparator, RowDifference } from './verify.js';

/**
 * `replay verify` for the ClickHouse fact table (`analytics_events`): the live generation's rows against
 * the temporary generation's, keyed by (tenant_id, position), the table's replacing key. Both sides are
 * read through `FINAL`, so a redelivered event (the same row twice, not merged yet) is one row, as every
 * reader sees it; a second row for one key with other values is what FINAL shows (the last one written).
 *
 * The diff runs on the server, not in this process: each side is reduced to (key, one hash over every
 * other column) and the two are joined (FULL OUTER JOIN … USING the key); only the differing keys come
 * back, so the fact table's size (millions of rows) never reaches Node's memory. Constructs that both
 * engines accept (checked on 18.16 and chDB): subqueries with aliases, `ALL FULL OUTER JOIN` (18.16 has
 * no join_use_nulls default, so an unmatched side reads as defaults: `l_in`/`s_in` = 0 tells them apart),
 * `cityHash64` over many arguments, arrays included. A NULL argument would make the whole hash NULL, so
 * each Nullable column enters as `isNull(c), assumeNotNull(c)`: NULL and '' (or 0) hash differently.
 * Only the listed `different` rows are then read whole, to name their differing columns.
 */
export function clickhouseComparator(engine: AnalyticsEngine): Comparator {
  const valueColumns = (Object.keys(eventColumns) as (keyof typeof eventColumns)[]).filter((c) => c !== 'tenant_id' && c !== 'position');
  const hash = `cityHash64(${valueColumns.map((c) => (eventColumns[c].startsWith('Nullable') ? `isNull(${c}), assumeNotNull(${c})` : c)).join(', ')})`;
  const side = (table: string, p: 'l' | 's') => `(SELECT tenant_id, position, tenant_id AS ${p}_t, position AS ${p}_p, ${hash} AS ${p}_h, 1 AS ${p}_in FROM ${table} FINAL) AS ${p}`;
  const diffFrom = (live: string, shadow: string) =>
    `FROM ${side(live, 'l')} ALL FULL OUTER JOIN ${side(shadow, 's')} USING (tenant_id, position) WHERE l_in = 0 OR s_in = 0 OR l_h != s_h`;
  const rowOf = async (table: string, tenant: string, position: string) =>
    (await engine.query<Record<string, unknown>>(`SELECT * FROM ${table} FINAL WHERE tenant_id = ${str(tenant)} AND position = ${digits(position)}`))[0] ?? {};

  return async (liveGeneration, shadowGeneration, maxListed) => {
    const live = eventsTable(liveGeneration);
    const shadow = eventsTable(shadowGeneration);
    const [count] = await engine.query<{ n: string }>(`SELECT count() AS n FROM (SELECT tenant_id, position FROM ${live} FINAL)`);
    const limit = Math.max(0, Math.trunc(maxListed));
    // One join in the usual case (few differences): one row past the limit says whether counting is needed.
    const found = await engine.query<{ l_in: number; s_in: number; l_t: string; l_p: string; s_t: string; s_p: string }>(
      `SELECT l_in, s_in, l_t, l_p, s_t, s_p ${diffFrom(live, shadow)} ORDER BY if(l_in = 1, l_t, s_t), toUInt64(if(l_in = 1, l_p, s_p)) LIMIT ${limit + 1}`,
    );
    const listed = found.slice(0, limit);
    const total = found.length <= limit ? found.length : Number((await engine.query<{ n: string }>(`SELECT count() AS n ${diffFrom(live, shadow)}`))[0]?.n ?? 0);
    const differences: RowDifference[] = [];
    for (const r of listed) {
      const inLive = Number(r.l_in) === 1;
      const inShadow = Number(r.s_in) === 1;
      const key = inLive ? { tenant_id: r.l_t, position: String(r.l_p) } : { tenant_id: r.s_t, position: String(r.s_p) };
      if (!inLive) differences.push({ kind: 'missing', table: EVENTS_VIEW, key });
      else if (!inShadow) differences.push({ kind: 'extra', table: EVENTS_VIEW, key });
      else {
        const [a, b] = await Promise.all([rowOf(live, key.tenant_id, key.position), rowOf(shadow, key.tenant_id, key.position)]);
        const columns = valueColumns.filter((c) => JSON.stringify(a[c]) !== JSON.stringify(b[c]));
        differences.push({ kind: 'different', table: EVENTS_VIEW, key, columns });
      }
    }
    return { rows: { [EVENTS_VIEW]: Number(count?.n ?? 0) }, differences, unlisted: Math.max(0, total - differences.length) };
  };
}

/** A UInt64 literal: the position came back from the engine as decimal digits; anything else is refused. */
function digits(value: string): string {
  if (!/^\d{1,20}$/.test(value)) throw new Error(`not a position: ${JSON.stringify(value)}`);
  return value;
}
