import type { Client } from '@elastic/elasticsearch';
import { indexOf } from '../../schemas/read-models/elasticsearch/indices.js';
import { searchKinds } from '../../schemas/read-models/search/documents.js';
import type { Comparator, RowDifference } from './verify.js';

/**
 * `replay verify` for the Elasticsearch search model: every document of the live generation's indices
 * against the temporary generation's, by `_id`, per kind (`contacts_v3` vs `contacts_v5`). Documents are
 * compared as JSON with sorted keys, so field order never counts; the fields that differ are named. Both
 * sides are refreshed first and read with a scroll in `_doc` order (sorting on `_id` is disabled in 8.x).
 */
export function elasticsearchComparator(client: Client, prefix = ''): Comparator {
  const all = async (index: string): Promise<Map<string, Record<string, unknown>>> => {
    await client.indices.refresh({ index });
    const out = new Map<string, Record<string, unknown>>();
    let r = await client.search<Record<string, unknown>>({ index, scroll: '1m', size: 1_000, sort: ['_doc'], query: { match_all: {} } });
    const ids = new Set<string>();
    try {
      while (r.hits.hits.length > 0) {
        for (const h of r.hits.hits) out.set(h._id!, h._source ?? {});
        if (r._scroll_id) ids.add(r._scroll_id);
        r = await client.scroll<Record<string, unknown>>({ scroll_id: r._scroll_id!, scroll: '1m' });
      }
    } finally {
      if (r._scroll_id) ids.add(r._scroll_id);
      if (ids.size > 0) await client.clearScroll({ scroll_id: [...ids] }).catch(() => undefined);
    }
    return out;
  };
  return async (live, shadow, maxListed) => {
    const rows: Record<string, number> = {};
    const differences: RowDifference[] = [];
    let unlisted = 0;
    const add = (d: RowDifference) => {
      if (differences.filter((x) => x.table === d.table).length < maxListed) differences.push(d);
      else unlisted++;
    };
    for (const kind of searchKinds) {
      const liveIndex = indexOf(kind, live, prefix);
      const [l, s] = await Promise.all([all(liveIndex), all(indexOf(kind, shadow, prefix))]);
      rows[liveIndex] = l.size;
      for (const id of [...new Set([...l.keys(), ...s.keys()])].sort()) {
        const a = l.get(id);
        const b = s.get(id);
        const key = { id };
        if (a === undefined) add({ kind: 'missing', table: liveIndex, key });
        else if (b === undefined) add({ kind: 'extra', table: liveIndex, key });
        else {
          const columns = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((c) => stable(a[c]) !== stable(b[c])).sort();
          if (columns.length > 0) add({ kind: 'different', table: liveIndex, key, columns });
        }
      }
    }
    return { rows, differences, unlisted };
  };
}

/** JSON with object keys sorted at every level: equal documents print equal whatever their field order. */
function stable(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  return `{${Object.keys(v as object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}
