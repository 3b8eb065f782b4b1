/**
 * Word counting and word-level slicing of prose.
 *
 * A "word" is a run of letters, digits or combining marks. Apostrophes and hyphens between two such
 * characters join them ("don't", "well-known", "rock’n’roll" count once), as do `.`, `,` and `:` between
 * two digits ("3.14", "1,000", "10:30") and the dots of abbreviations ("e.g.", "U.S.A."). Everything else
 * separates words, so em-dashes, en-dashes and a double hyphen split "word—word" into two. This is close
 * to what word processors report, which is the number authors and KDP care about.
 *
 * The pattern is linear: each repetition must consume a joiner that the character class itself never
 * matches, so there is exactly one way to match any input and no backtracking blow-up on long scenes.
 */
const WORD_SOURCE =
  "[\\p{L}\\p{N}\\p{M}]+(?:(?:['’\\u2010\\u2011-]|(?<=\\p{N})[.,:](?=\\p{N})|(?<=\\p{L})\\.(?=\\p{L}\\.))[\\p{L}\\p{N}\\p{M}]+)*";

/** A fresh global regex each call: a shared `g` regex carries `lastIndex` between callers. */
export function wordRegex(): RegExp {
  return new RegExp(WORD_SOURCE, "gu");
}

export interface Span {
  start: number;
  end: number;
}

/** Character spans of every word, in order. */
export function* wordSpans(text: string): Generator<Span> {
  for (const match of text.matchAll(wordRegex())) {
    yield { start: match.index, end: match.index + match[0].length };
  }
}

/** Counts of recent long texts: a scene is counted by the drafting, its commit and its announcement. */
const recentCounts = new Map<string, number>();
const COUNTS_KEPT = 8;
const WORTH_KEEPING = 2_000;

export function countWords(text: string): number {
  const known = recentCounts.get(text);
  if (known !== undefined) return known;
  let count = 0;
  for (const _ of text.matchAll(wordRegex())) count++;
  if (text.length >= WORTH_KEEPING) {
    if (recentCounts.size >= COUNTS_KEPT) recentCounts.delete(recentCounts.keys().next().value!);
    recentCounts.set(text, count);
  }
  return count;
}

const PARAGRAPH_BREAK = /\r?\n(?:[ \t]*\r?\n)+/g;

/** Character spans of blank-line separated paragraphs, trimmed, empty ones dropped. */
export function paragraphSpans(text: string): Span[] {
  const spans: Span[] = [];
  let cursor = 0;
  const pushTrimmed = (start: number, end: number) => {
    const raw = text.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const body = raw.trim();
    if (body) spans.push({ start: start + lead, end: start + lead + body.length });
  };
  for (const match of text.matchAll(PARAGRAPH_BREAK)) {
    pushTrimmed(cursor, match.index);
    cursor = match.index + match[0].length;
  }
  pushTrimmed(cursor, text.length);
  return spans;
}

/** The paragraphs as written, between blank lines: trimmed, line breaks inside kept, empty ones dropped. */
export function splitParagraphs(text: string): string[] {
  return paragraphSpans(text).map((span) => text.slice(span.start, span.end));
}

/** Opening quotes and brackets that belong to the word they touch, kept so a tail reads naturally. */
const OPENERS = new Set(["“", '"', "‘", "'", "(", "[", "«"]);

/**
 * The last `n` words exactly as written, from the start of the n-th last word to the end of the text
 * (trailing whitespace dropped). Used for the verbatim hand-off between scenes, so punctuation and line
 * breaks must survive. An opening quote or bracket glued to that first word is kept with it.
 */
export function lastWords(text: string, n: number): string {
  if (n <= 0) return "";
  // Ring buffer of the last n word starts: one pass, O(n) memory, whatever the text length.
  const starts: number[] = [];
  let seen = 0;
  for (const span of wordSpans(text)) {
    starts[seen % n] = span.start;
    seen++;
  }
  if (seen === 0) return "";
  if (seen <= n) return text.trim();
  let start = starts[seen % n]!;
  while (start > 0 && OPENERS.has(text[start - 1]!)) start--;
  return text.slice(start).trimEnd();
}

/**
 * The first `n` words exactly as written, ending at the end of the n-th word; `suffix` is appended only
 * when something was cut.
 */
export function truncateWords(text: string, n: number, suffix = "…"): string {
  if (n <= 0) return "";
  let seen = 0;
  for (const span of wordSpans(text)) {
    seen++;
    if (seen === n) {
      const moreFollow = wordRegex().test(text.slice(span.end));
      return moreFollow ? text.slice(0, span.end).trimStart() + suffix : text.trim();
    }
  }
  return text.trim();
}
