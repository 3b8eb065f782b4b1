/**
 * Over 300 lines: one detector per rule (stock phrases, repeated openings, em-dashes, tricolons,
 * "not X but Y"), each with its pattern and weight, beside the report that weighs them together.
 *
 * Machine-prose lint (stage 10, and the density check of stage 12).
 *
 * Deterministic and cheap on purpose: it decides which scenes are worth an LLM rewrite and names the
 * exact spans to fix, so the rewrite prompt can be specific ("replace these five phrases") rather than
 * a vague "sound more human". Every rule yields hits with character offsets and a weight; the density is
 * the weighted hit count per 1000 words, which makes scenes of different lengths comparable.
 */
import { STOCK_PHRASE_PATTERNS } from "./stock-phrases";
import { paragraphSpans, type Span, wordSpans } from "./words";

export interface LintHit {
  rule: LintRule;
  start: number;
  end: number;
  /** The flagged span with a little context, whitespace collapsed, "…" where clipped. */
  excerpt: string;
  /** Human-readable label, e.g. `stock phrase "a testament to"`; used in rewrite prompts. */
  note: string;
  /** Contribution to the density; dashes and tricolons only count beyond their allowance. */
  weight: number;
}

export type LintRule =
  | "stock-phrase"
  | "repeated-opening"
  | "repeated-paragraph-opening"
  | "em-dash"
  | "tricolon"
  | "not-but";

export interface LintReport {
  words: number;
  hits: LintHit[];
  /** Weighted hits per 1000 words. */
  density: number;
  /** Number of hits per rule (unweighted). */
  byRule: Record<string, number>;
}

/**
 * Weighted hits per 1000 words above which a scene is rewritten in stage 10 and fails stage 12.
 *
 * Why 6: decent human prose still trips the lint now and then (an idiom like "a flicker of", one run
 * of three "She" sentences, a tricolon over budget) and lands around 0–3 per 1000 words; the two plain
 * samples in tests/text.test.ts score 0, and 2.7 with one stock phrase added. Machine-flavoured prose
 * stacks its tics: the test's 200-word tavern scene, with no stock phrase from the list at all, still
 * scores about 18 from three "X, Y, and Z" lists, three dashes and one "wasn't X, but Y"; the
 * tic-saturated sample scores over 150. Six sits between the two with room on both sides: a 2,000-word
 * scene needs about a dozen weighted tics to be rewritten, so one unlucky idiom never costs a rewrite,
 * while a scene that reads as machine-made reliably gets one.
 */
export const LINT_THRESHOLD = 6;

/** One em-dash per 150 words is a writer's habit; beyond that it is a tic (each excess dash counts half). */
const WORDS_PER_DASH = 150;
const DASH_WEIGHT = 0.5;
/** One tricolon per 250 words reads as rhythm; more reads as a template. */
const WORDS_PER_TRICOLON = 250;
/** Sentences in a row with the same first word before it counts as a tic. */
const OPENING_RUN = 3;
/** Same two-word paragraph opening this many times within PARAGRAPH_WINDOW paragraphs. */
const PARAGRAPH_REPEATS = 3;
const PARAGRAPH_WINDOW = 5;

export function lintProse(text: string): LintReport {
  // Word spans once, shared by the rules that walk words: each walk is then a linear merge.
  const wordList = [...wordSpans(text)];
  const words = wordList.length;
  const hits = [
    ...stockPhraseHits(text),
    ...repeatedOpeningHits(text, wordList),
    ...repeatedParagraphOpeningHits(text, wordList),
    ...budgetedHits(text, emDashSpans(text), words, {
      rule: "em-dash",
      wordsPerAllowed: WORDS_PER_DASH,
      weightPerExcess: DASH_WEIGHT,
    }),
    ...budgetedHits(text, tricolonSpans(text), words, {
      rule: "tricolon",
      wordsPerAllowed: WORDS_PER_TRICOLON,
      weightPerExcess: 1,
    }),
    ...notButHits(text),
  ].sort((a, b) => a.start - b.start);
  const weighted = hits.reduce((sum, hit) => sum + hit.weight, 0);
  const byRule: Record<string, number> = {};
  for (const hit of hits) byRule[hit.rule] = (byRule[hit.rule] ?? 0) + 1;
  return { words, hits, density: words === 0 ? 0 : (weighted * 1000) / words, byRule };
}

// ---------------------------------------------------------------------------------------------------
// (a) stock phrases

/**
 * One alternation for the whole list, longest first so "the weight of the world" wins over shorter
 * overlaps. Bounded by "not a letter or digit" on both sides rather than \b, which is ASCII-only.
 */
const STOCK_PHRASE_RE = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:${[...STOCK_PHRASE_PATTERNS].sort((a, b) => b.length - a.length).join("|")})(?![\\p{L}\\p{N}])`,
  "giu",
);

function stockPhraseHits(text: string): LintHit[] {
  return [...text.matchAll(STOCK_PHRASE_RE)].map((match) => {
    const span = { start: match.index, end: match.index + match[0].length };
    const phrase = match[0].toLowerCase().replace(/\s+/g, " ").replace(/’/g, "'");
    return makeHit(text, span, "stock-phrase", `stock phrase "${phrase}"`, 1);
  });
}

// ---------------------------------------------------------------------------------------------------
// (b) repeated openings

interface SentenceOpening {
  word: string;
  span: Span;
  paragraph: number;
}

/** Sentence ends (terminal punctuation plus closing quotes, before whitespace) and paragraph breaks. */
const SENTENCE_BOUNDARY = /[.!?…]+[”"’')\]]*(?=\s|$)|\n[ \t]*\n/g;
/** Abbreviations whose period does not end a sentence ("Mr. Quill"), lower-cased, without the dot. */
const ABBREVIATIONS = new Set(["mr", "mrs", "ms", "dr", "st", "mt", "jr", "sr", "prof", "capt", "lt", "vs"]);

/**
 * The first word of every sentence. A "sentence" starting in lower case is the tail of dialogue
 * (`"Go!" she said.`), not a new sentence, so it is skipped rather than counted as an opening.
 */
function sentenceOpenings(text: string, words: Span[]): SentenceOpening[] {
  const openings: SentenceOpening[] = [];
  const nextWord = wordWalker(words);
  let cursor = 0;
  let paragraph = 0;
  const takeOpening = (end: number) => {
    const span = nextWord(cursor);
    if (!span || span.start >= end) return;
    const word = text.slice(span.start, span.end);
    if (!/^\p{Ll}/u.test(word)) openings.push({ word: word.toLowerCase(), span, paragraph });
  };
  for (const boundary of text.matchAll(SENTENCE_BOUNDARY)) {
    if (isAbbreviation(text, boundary.index)) continue;
    const end = boundary.index + boundary[0].length;
    takeOpening(end);
    cursor = end;
    if (boundary[0].startsWith("\n")) paragraph++;
  }
  takeOpening(text.length);
  return openings;
}

function isAbbreviation(text: string, periodIndex: number): boolean {
  if (text[periodIndex] !== ".") return false;
  const before = /[\p{L}]+$/u.exec(text.slice(Math.max(0, periodIndex - 5), periodIndex));
  return before !== null && ABBREVIATIONS.has(before[0].toLowerCase());
}

/**
 * One hit per run of OPENING_RUN+ sentences in one paragraph opening alike; each sentence past the
 * second weighs 1. Runs stop at paragraph breaks: "He… He…" then a new paragraph starting "He" reads
 * naturally, while three in one paragraph is the drumbeat we are after.
 */
function repeatedOpeningHits(text: string, words: Span[]): LintHit[] {
  const openings = sentenceOpenings(text, words);
  const hits: LintHit[] = [];
  let runStart = 0;
  for (let i = 1; i <= openings.length; i++) {
    const current = openings[i];
    const start = openings[runStart]!;
    if (current && current.word === start.word && current.paragraph === start.paragraph) continue;
    const length = i - runStart;
    if (length >= OPENING_RUN) {
      const first = openings[runStart]!;
      const span = { start: first.span.start, end: openings[i - 1]!.span.end };
      const shown = text.slice(first.span.start, first.span.end);
      const note = `${length} sentences in a row open with "${shown}"`;
      hits.push(makeHit(text, span, "repeated-opening", note, length - (OPENING_RUN - 1)));
    }
    runStart = i;
  }
  return hits;
}

/**
 * A paragraph whose first two words already opened at least two of the previous few paragraphs
 * ("She turned… / She turned…"): one hit per such paragraph, on its opening words.
 */
function repeatedParagraphOpeningHits(text: string, words: Span[]): LintHit[] {
  const nextWord = wordWalker(words);
  const openings = paragraphSpans(text).map((paragraph) => twoWordOpening(text, paragraph, nextWord));
  const hits: LintHit[] = [];
  openings.forEach((opening, index) => {
    if (!opening) return;
    const recent = openings.slice(Math.max(0, index - (PARAGRAPH_WINDOW - 1)), index);
    const repeats = recent.filter((other) => other?.key === opening.key).length + 1;
    if (repeats < PARAGRAPH_REPEATS) return;
    const shown = text.slice(opening.span.start, opening.span.end);
    const note = `${repeats} of ${PARAGRAPH_WINDOW} paragraphs open with "${shown}"`;
    hits.push(makeHit(text, opening.span, "repeated-paragraph-opening", note, 1));
  });
  return hits;
}

function twoWordOpening(
  text: string,
  paragraph: Span,
  nextWord: WordWalker,
): { key: string; span: Span } | undefined {
  const first = nextWord(paragraph.start);
  const second = first && nextWord(first.end);
  if (!first || !second || second.start >= paragraph.end) return undefined;
  // Only whitespace between the two: "Yes. No." is not a repeated opening phrase.
  if (text.slice(first.end, second.start).trim()) return undefined;
  const key = text.slice(first.start, second.end).replace(/\s+/g, " ").toLowerCase();
  return { key, span: { start: first.start, end: second.end } };
}

type WordWalker = (from: number) => Span | undefined;

/**
 * The first word starting at or after `from`, for non-decreasing `from`: a pointer that only moves
 * forward, so a whole pass costs O(words) however many sentences or empty paragraphs there are.
 */
function wordWalker(words: Span[]): WordWalker {
  let index = 0;
  return (from) => {
    while (index < words.length && words[index]!.start < from) index++;
    return words[index];
  };
}

// ---------------------------------------------------------------------------------------------------
// (c) em-dashes and (d) tricolons: allowed up to a budget, the excess counts

/** Em-dash runs, spaced en-dashes and double hyphens used as dashes. */
const EM_DASH = /—+|(?<=\s)–(?=\s)|(?<=[\p{L}\s])--(?=[\p{L}\s])/gu;

function emDashSpans(text: string): Span[] {
  return [...text.matchAll(EM_DASH)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

/**
 * "cold, dark, and silent" / "stood, turned, and left": three short items joined by commas and a
 * final ", and"/", or". The serial comma is required: models use it almost without fail, and without
 * it the pattern mostly finds pairs ("fifty, tall and stooped"). An item that opens with a
 * subordinator (middle) or a subject pronoun (last) is a clause, not a list item: "again, whatever the
 * weather, and in the afternoons" / "he arrived, the train left, and she cried". Every quantifier is
 * bounded, so the scan stays linear.
 */
const ITEM = "[\\p{L}\\p{N}'’-]+";
const SHORT_ITEM = `${ITEM}(?:[ \\t]+${ITEM}){0,2}`;
const NOT_BEFORE = (words: string) => `(?!(?:${words})(?![\\p{L}]))`;
const SUBORDINATORS = "whatever|however|whoever|though|although|when|while|if|because|which|who|as|since";
const SUBJECT_PRONOUNS = "i|he|she|we|they|there";
const TRICOLON = new RegExp(
  `(?<![\\p{L}\\p{N}'’-])${ITEM},[ \\t]+${NOT_BEFORE(SUBORDINATORS)}${SHORT_ITEM},[ \\t]+(?:and|or)[ \\t]+` +
    `${NOT_BEFORE(SUBJECT_PRONOUNS)}${SHORT_ITEM}`,
  "giu",
);

function tricolonSpans(text: string): Span[] {
  return [...text.matchAll(TRICOLON)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

interface Budget {
  rule: LintRule;
  wordsPerAllowed: number;
  weightPerExcess: number;
}

/**
 * Within budget nothing is flagged. Over budget every occurrence is flagged (the rewrite should
 * choose which to keep), and the excess weight is spread evenly over them.
 */
function budgetedHits(text: string, spans: Span[], words: number, budget: Budget): LintHit[] {
  // Fractional, so 2 tricolons in 350 words (1.4 allowed) cost 0.6 rather than a full point.
  const allowed = Math.max(1, words / budget.wordsPerAllowed);
  const excess = spans.length - allowed;
  if (excess <= 0) return [];
  const weight = (excess * budget.weightPerExcess) / spans.length;
  const note = `${budget.rule} (${spans.length} in ${words} words; at most ${Math.floor(allowed)})`;
  return spans.map((span) => makeHit(text, span, budget.rule, note, weight));
}

// ---------------------------------------------------------------------------------------------------
// (e) "not X, but Y"

/**
 * The corrective contrast: "It was not anger, but grief." / "not because…, but because…" / "Not fear
 * but something older." Restricted to a negated "be" or a clause-initial "not" so that ordinary
 * contrast ("She did not want to go, but she went") is left alone.
 */
const NOT_BUT = new RegExp(
  "(?:(?<![\\p{L}])(?:is|was|were|are|am|be|been|it['’]s|that['’]s)\\s+not" +
    "|(?<![\\p{L}])(?:isn|wasn|weren|aren)['’]t" +
    "|(?<![\\p{L}])not\\s+(?:just|only|merely|simply|because)" +
    '|(?:^|[.!?;:,—–("“]\\s*)not)' +
    "\\s+[^\\s.!?;:,—]+(?:\\s+[^\\s.!?;:,—]+){0,5}\\s*,?\\s+but(?![\\p{L}])",
  "gimu",
);

function notButHits(text: string): LintHit[] {
  return [...text.matchAll(NOT_BUT)].map((match) => {
    // Drop the punctuation the clause-initial alternative consumed before "not".
    const lead = match[0].search(/\p{L}/u);
    const span = { start: match.index + lead, end: match.index + match[0].length };
    return makeHit(text, span, "not-but", 'construction "not X, but Y"', 1);
  });
}

// ---------------------------------------------------------------------------------------------------
// hits and prompts

function makeHit(text: string, span: Span, rule: LintRule, note: string, weight: number): LintHit {
  return { rule, start: span.start, end: span.end, excerpt: excerptOf(text, span), note, weight };
}

const CONTEXT_CHARS = 30;
const MAX_SPAN_CHARS = 120;

/** The span plus a little context on each side, cut at word boundaries, long spans elided in the middle. */
function excerptOf(text: string, span: Span): string {
  const before = text.slice(Math.max(0, span.start - CONTEXT_CHARS), span.start);
  const after = text.slice(span.end, span.end + CONTEXT_CHARS);
  const leadCut = span.start - CONTEXT_CHARS > 0;
  const tailCut = span.end + CONTEXT_CHARS < text.length;
  let body = text.slice(span.start, span.end);
  if (body.length > MAX_SPAN_CHARS) {
    body = `${body.slice(0, MAX_SPAN_CHARS * 0.6).trimEnd()} … ${body.slice(-MAX_SPAN_CHARS * 0.3).trimStart()}`;
  }
  // Drop the partial word at each clipped edge so the excerpt never starts or ends mid-word.
  const head = leadCut ? before.replace(/^\S*\s?/, "") : before;
  const tail = tailCut ? after.replace(/\s?\S*$/, "") : after;
  const excerpt = `${leadCut ? "…" : ""}${head}${body}${tail}${tailCut ? "…" : ""}`;
  return excerpt.replace(/\s+/g, " ").trim();
}

/**
 * The flagged spans as a bullet list for a rewrite prompt. With more hits than `max`, the list takes
 * hits from each rule in turn so one noisy rule (say, thirty dashes) cannot crowd out the rest.
 */
export function describeHits(report: LintReport, max = 20): string {
  const chosen = roundRobinByRule(report.hits, max).sort((a, b) => a.start - b.start);
  const lines = chosen.map((hit) => `- ${hit.note}: "${hit.excerpt}"`);
  const omitted = report.hits.length - chosen.length;
  if (omitted > 0) lines.push(`- …and ${omitted} more of the same kinds`);
  return lines.join("\n");
}

function roundRobinByRule(hits: LintHit[], max: number): LintHit[] {
  const queues = new Map<string, LintHit[]>();
  for (const hit of hits) {
    const queue = queues.get(hit.rule);
    if (queue) queue.push(hit);
    else queues.set(hit.rule, [hit]);
  }
  const chosen: LintHit[] = [];
  while (chosen.length < max && chosen.length < hits.length) {
    for (const queue of queues.values()) {
      const next = queue.shift();
      if (next && chosen.length < max) chosen.push(next);
    }
  }
  return chosen;
}
