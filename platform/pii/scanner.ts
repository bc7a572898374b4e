import { createHmac } from 'node:crypto';

/**
 * The `PersonalDataScanner` port of the erasure certificate (issue 10): every store that may hold a copy
 * of a data subject's personal values (the event store, the bus log / Kafka topics, each read model; later
 * Elasticsearch and ClickHouse) implements it beside its adapter, and the erasure workflow asks each one
 * "how many of these values do you still hold?".
 *
 * A scanner never receives plaintext: it receives a `ValueMatcher` and feeds it every string it finds
 * (column values, JSON string leaves, header values). The matcher compares keyed, salted hashes
 * (HMAC-SHA256 under a key derived from the master key, over a per-erasure random salt), so the same
 * matcher serves the first scan (values captured in memory, then dropped) and every later `gdpr verify`
 * (only the hashes kept in the certificate), and a certificate holds nothing a reader could look up.
 *
 * Matching is exact on whole string leaves, after trimming: a personal value pasted inside a longer
 * non-personal text is not found (documented limit; every personal field is encrypted as a whole, so a
 * leak of the encryption would show up as the exact value).
 */

export interface ScanTarget {
  readonly tenantId: string;
  /** The subject and the subjects linked to it (a contact and the lead it was converted from). */
  readonly subjectIds: readonly string[];
  readonly matcher: ValueMatcher;
}

export interface ScanFinding {
  /** Where, without the value: `contacts.first_name`, `contact-<id>@3 data.email`, `annals.contact.events/2@17`. */
  readonly location: string;
  readonly valueHash: string;
}

export interface ScanResult {
  /** The store's name in the certificate (`event-store`, `bus`, `postgres:contacts`). */
  readonly store: string;
  /** How many copies of a searched value were found (must be 0 after erasure). */
  readonly found: number;
  readonly findings: readonly ScanFinding[];
  /** Records examined (rows, events, messages). */
  readonly examined: number;
  /** Ciphertexts that failed authentication: reported, never counted as erased. */
  readonly tampered?: readonly string[];
  /** A store that could not be scanned completely says why (the certificate then fails). */
  readonly incomplete?: string;
}

export interface PersonalDataScanner {
  readonly store: string;
  scan(target: ScanTarget): Promise<ScanResult>;
}

export interface ValueMatcher {
  /** The hash of `candidate` if it is one of the searched values, else undefined. */
  match(candidate: string): string | undefined;
  readonly size: number;
}

/** Keyed salted hash of one value (hex); `key` is secret, `salt` is stored with the certificate. */
export function valueHash(key: string, salt: string, value: string): string {
  return createHmac('sha256', key).update(`${salt}\n${value.trim()}`, 'utf8').digest('hex');
}

export function hashMatcher(key: string, salt: string, hashes: Iterable<string>): ValueMatcher {
  const set = new Set(hashes);
  return {
    size: set.size,
    match(candidate) {
      if (set.size === 0 || candidate.trim() === '') return undefined;
      const h = valueHash(key, salt, candidate);
      return set.has(h) ? h : undefined;
    },
  };
}

/** Every string leaf of a JSON value (object keys are not personal in our schemas; values are). */
export function stringLeaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringLeaves(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) stringLeaves(v, out);
  return out;
}

/** Feeds the leaves of `value` to the matcher; `onFound(hash)` per match. Returns the match count. */
export function matchLeaves(matcher: ValueMatcher, value: unknown, onFound: (hash: string) => void): number {
  let n = 0;
  for (const leaf of stringLeaves(value)) {
    const h = matcher.match(leaf);
    if (h !== undefined) {
      n++;
      onFound(h);
    }
  }
  return n;
}

/** Parses a JSON text, or returns the text itself (so a non-JSON payload is still matched as one string). */
export function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
