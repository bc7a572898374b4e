/**
 * Search text as users type it, made safe for any store: well-formed (lone surrogates become U+FFFD and
 * then a space), no control characters (NUL cannot even be stored in PostgreSQL text), NFKC-normalised
 * (full-width letters, ligatures), lower-cased, whitespace collapsed, bounded. The query languages never
 * see it raw: Elasticsearch gets it inside match/prefix queries (never query_string), PostgreSQL as bound
 * parameters, with LIKE wildcards escaped and tsquery lexemes reduced to letters and digits.
 */
export const MAX_SEARCH_TEXT = 200;
export const MAX_SEARCH_WORDS = 8;
const MAX_WORD = 50;

export interface SearchTerms {
  /** The whole normalised text ('' when nothing usable is left). */
  readonly text: string;
  /** Its words (split on whitespace), at most MAX_SEARCH_WORDS, each at most 50 characters. */
  readonly words: readonly string[];
  /** Letter/digit runs of the words: safe tsquery lexemes. */
  readonly lexemes: readonly string[];
}

export function searchTerms(raw: string): SearchTerms {
  const text = wellFormed(raw)
    .replace(/[\p{Cc}\p{Cs}\p{Co}\p{Cn}\uFFFD]/gu, ' ')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
  const bounded = wellFormed(text.slice(0, MAX_SEARCH_TEXT)).trim();
  const words = bounded === '' ? [] : bounded.split(' ').slice(0, MAX_SEARCH_WORDS).map((w) => wellFormed(w.slice(0, MAX_WORD)));
  const lexemes = [...new Set(words.flatMap((w) => w.match(/[\p{L}\p{N}]+/gu) ?? []))];
  return { text: words.join(' '), words, lexemes };
}

/** `String.prototype.toWellFormed` (Node ≥ 20): a lone surrogate → U+FFFD; a cut pair at the end is dropped the same way. */
function wellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

/** `value` for a LIKE pattern with `\` as the escape character. */
export const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Edit distance with adjacent transpositions counted as one edit (optimal string alignment), as
 * Elasticsearch's fuzzy query counts it (`transpositions: true`): "jonh" → "john" is 1.
 */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  const rows: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[x.length]![y.length]!;
}

/** Elasticsearch's `fuzziness: AUTO`: no edit up to 2 characters, one up to 5, two beyond. */
export const allowedEdits = (word: string): number => {
  const n = [...word].length;
  return n <= 2 ? 0 : n <= 5 ? 1 : 2;
};

/**
 * `word` with each pair of adjacent characters swapped: the one typo trigram similarity sees worst in a
 * short word ("jhon" shares one trigram of five with "john"), so the dictionary is also asked for these exactly.
 */
export function transpositions(word: string): string[] {
  const c = [...word];
  const out = new Set<string>();
  for (let i = 0; i + 1 < c.length; i++) {
    if (c[i] === c[i + 1]) continue;
    out.add([...c.slice(0, i), c[i + 1], c[i], ...c.slice(i + 2)].join(''));
  }
  return [...out];
}

/** How many dictionary words a query word may bring in the last, similarity-only tier of closestTerms. */
const LAST_TIER = 10;

/**
 * The dictionary words that stand for a mistyped query `word`, from `near` (dictionary words close by
 * trigrams, most similar first, and its transpositions found in the dictionary):
 * 1. the words within Elasticsearch's AUTO edit distance, the closest only ("smiht" → smith, not smithers);
 * 2. else the words whose beginning is within it (a partial word with a typo: "smti" → smith, smithers);
 * 3. else the most similar words by trigrams (several typos, or a typo in a very short word).
 */
export function closestTerms(word: string, near: readonly string[]): string[] {
  const unique = [...new Set(near)];
  const allowed = allowedEdits(word);
  const closest = (distance: (term: string) => number): string[] => {
    const scored = unique.map((t) => [t, distance(t)] as const).filter(([, d]) => d <= allowed);
    const best = Math.min(...scored.map(([, d]) => d));
    return scored.filter(([, d]) => d === best).map(([t]) => t);
  };
  const whole = closest((t) => editDistance(word, t));
  if (whole.length > 0) return whole;
  const n = [...word].length;
  const prefix = closest((t) => ([...t].length > n ? editDistance(word, [...t].slice(0, n).join('')) : Infinity));
  if (prefix.length > 0) return prefix;
  return unique.slice(0, LAST_TIER);
}
