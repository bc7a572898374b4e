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
