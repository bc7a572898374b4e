import { currentVersion, personalPathsOf } from '../../schemas/events/registry.js';
import type { PersonalColumns } from './sql.js';

/**
 * Personal columns come from the schema marker (GUIDE, "From our own code"), not from lists typed in each
 * read model. A model declares, for every personal field of the events it handles — the fields
 * `personal(...)` marks in schemas/events, found by `personalPaths` — where it keeps it: `table.column`, or
 * `null` when it keeps no copy. Its personal columns (nulled by erasure, checked by the tests) are derived
 * from that mapping, and the model's test fails when an event it handles gains a personal field the
 * mapping does not place (`unmappedPersonalFields`), or when the mapping names a field that is not
 * personal any more (`stalePersonalSources`).
 *
 * Keys are `<EventType>.<path>` with the path joined by `.` and `*` for every element of an array or value
 * of a record (`ContactCreated.customFields.*`), at the event's current schema version (what projectors see).
 */
export type PersonalSources = Readonly<Record<string, `${string}.${string}` | null>>;

const key = (type: string, path: readonly string[]): string => `${type}.${path.join('.')}`;

/** The personal fields of `eventTypes` at their current versions, as mapping keys. */
export function personalFieldsOf(eventTypes: readonly string[]): string[] {
  return eventTypes.flatMap((type) => {
    const version = currentVersion(type);
    return version === undefined ? [] : personalPathsOf(type, version).map((p) => key(type, p));
  });
}

/** Each table of the model with the columns `sources` places personal fields in (every table listed, maybe empty). */
export function personalColumnsOf<const T extends string>(tables: readonly T[], sources: PersonalSources): Readonly<Record<T, readonly string[]>> & PersonalColumns {
  const out: Record<string, string[]> = Object.fromEntries(tables.map((t) => [t, []]));
  for (const [field, target] of Object.entries(sources)) {
    if (target === null) continue;
    const dot = target.indexOf('.');
    const table = target.slice(0, dot);
    const column = target.slice(dot + 1);
    const columns = out[table];
    if (!columns) throw new Error(`personal field ${field} is mapped to ${target}, but the read model has no table ${table} (tables: ${tables.join(', ')})`);
    if (!columns.includes(column)) columns.push(column);
  }
  return out as Record<T, string[]>;
}

/** Personal fields of the handled events that `sources` does not place (each must be mapped, to a column or to null). */
export function unmappedPersonalFields(eventTypes: readonly string[], sources: PersonalSources): string[] {
  return personalFieldsOf(eventTypes).filter((f) => !Object.hasOwn(sources, f));
}

/** Mapping keys that are not personal fields of the handled events (a renamed or unmarked field). */
export function stalePersonalSources(eventTypes: readonly string[], sources: PersonalSources): string[] {
  const fields = new Set(personalFieldsOf(eventTypes));
  return Object.keys(sources).filter((f) => !fields.has(f));
}
