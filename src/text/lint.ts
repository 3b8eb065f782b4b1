/**
 * Over 300 lines: one detector per rule (stock phrases, repeated openings, em-dashes, tricolons, "not X
 * but Y", "It wasn't X. It was Y.", narration fragments), each with its pattern and weight, beside the
 * report that weighs them together.
 *
 * Machine-prose lint (stage 10, and the density check of stage 12).
 *
 * Deterministic and cheap on purpose: it decides which scenes are worth an LLM rewrite and names the
 * exact spans to fix, so the rewrite prompt can be specific ("replace these five phrases") rather than
 * a vague "sound more human". Every rule yields hits with character offsets and a weight; the density is
 * the weighted hit count per 1000 words, which makes scenes of different lengths comparable.
 */
import { PHRASE_FAMILIES } from "./stock-phrases";
import { paragraphSpans, type Span, wordSpans } from "./words";

export interface LintHit {
  rule: LintRule;
  start: number;
  end: number;
  /** The flagged span with a little context, whitespace collapsed, "…" where clipped. */
  excerpt: string;
  /** The flagged span exactly as written: `text.slice(start, end)`. */
  text: string;
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
  | "not-but"
  | "reframe"
  | "fragment";

export interface LintReport {
  words: number;
  hits: LintHit[];
  /** Weighted hits per 1000 words. */
  density: number;
  /** Number of hits per rule (unweighted). */
  byRule: Record<string, number>;
}

/**
 * Weighted hits per 1000 words at or above which a scene is rewritten in stage 10 and fails stage 12
 * (see `isFlagged`).
 *
 * Why 6: measured on real fiction cut into 1,000–1,500-word chunks (eight published novels, 1811–1926,
 * and chapters by ten current models; tests/lint-corpus.test.ts). Published prose scores 0 in over half
 * the chunks, under 2 in 95% of them and 3.9 at most: an idiom, a run of "He…" sentences, a dash-heavy page
 * of Fitzgerald. Model prose stacks its tells ("her voice low", "jaw tightened", "the weight of…", "It
 * wasn't X. It was Y.") and scores 9 at the median, 6–13 for the middle half. Six leaves published prose
 * a wide margin (modern fiction uses more of these gestures than the corpus's novels do) and still flags
 * three model chunks in four. The plain samples in tests/text.test.ts score 0; the tavern scene, with
 * its lists, dashes and "wasn't X, but Y", about 16; the tic-saturated sample over 150. A 2,000-word
 * scene needs about a dozen weighted tells to be rewritten, so one unlucky idiom never costs a rewrite.
 */
export const LINT_THRESHOLD = 6;

/** Whether the lint asks for a rewrite: the density reaches LINT_THRESHOLD. */
export function isFlagged(report: LintReport): boolean {
  return report.density >= LINT_THRESHOLD;
}

/**
 * Em-dashes in narration (dialogue is left alone: an interrupted speaker is no tic). Published novels
 * mostly use fewer than one per 150 words (Hemingway none), and up to one per 70 on a dash-heavy page of
 * Fitzgerald or Brontë; models from one per 150 (Claude) to one per 50 words (o3, DeepSeek). Up to one
 * per 90 words is a writer's habit; each dash beyond counts half.
 */
const WORDS_PER_DASH = 90;
const DASH_WEIGHT = 0.5;
/** One tricolon per 250 words reads as rhythm; more reads as a template. */
const WORDS_PER_TRICOLON = 250;
/** Sentences in a row with the same first word before it counts as a tic. */
const OPENING_RUN = 3;
/**
 * First-person narration opens sentence after sentence with "I" as a matter of course (Brontë, Dickens,
 * Fitzgerald): an "I" run counts from its fourth sentence, and pronoun runs weigh half per sentence.
 */
const FIRST_PERSON_RUN = 4;
const PRONOUN_RUN_WEIGHT = 0.5;
/** Same two-word paragraph opening this many times within PARAGRAPH_WINDOW paragraphs. */
const PARAGRAPH_REPEATS = 3;
const PARAGRAPH_WINDOW = 5;
/** "It wasn't X. It was Y.": human 0.03 / model 0.5 per 1000 words. */
const REFRAME_WEIGHT = 1.5;
/**
 * Narration fragments ("Not yet." "Just tired." "No answer."): human 0.1 / model 1.9 per 1000 words;
 * one per 400 words allowed, each beyond weighs 0.75.
 */
const WORDS_PER_FRAGMENT = 400;
const FRAGMENT_WEIGHT = 0.75;

export function lintProse(text: string): LintReport {
  // Word spans once, shared by the rules that walk words: each walk is then a linear merge.
  const wordList = [...wordSpans(text)];
  const words = wordList.length;
  const dialogue = dialogueSpans(text);
  const sentenceList = sentences(text, wordList);
  const hits = [
    ...stockPhraseHits(text),
    ...repeatedOpeningHits(text, sentenceList),
    ...repeatedParagraphOpeningHits(text, wordList),
    ...budgetedHits(text, outside(emDashSpans(text), dialogue), words, {
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
    ...reframeHits(text),
    ...budgetedHits(text, outside(fragmentSpans(text, sentenceList), dialogue), words, {
      rule: "fragment",
      wordsPerAllowed: WORDS_PER_FRAGMENT,
      weightPerExcess: FRAGMENT_WEIGHT,
    }),
  ].sort((a, b) => a.start - b.start);
  const weighted = hits.reduce((sum, hit) => sum + hit.weight, 0);
  const byRule: Record<string, number> = {};
  for (const hit of hits) byRule[hit.rule] = (byRule[hit.rule] ?? 0) + 1;
  return { words, hits, density: words === 0 ? 0 : (weighted * 1000) / words, byRule };
}

// ---------------------------------------------------------------------------------------------------
// (a) stock phrases

/**
 * One alternation for every family, longest pattern first so "the weight of the world" wins over the
 * shorter "the weight of…" at the same place. Each pattern is its own capture group (the patterns use
 * only non-capturing groups), so the group that matched names the family and its weight. Bounded by "not
 * a letter or digit" on both sides rather than \b, which is ASCII-only.
 */
const PHRASE_ALTERNATIVES = PHRASE_FAMILIES.flatMap((family) =>
  family.patterns.map((source) => ({ source, family })),
).sort((a, b) => b.source.length - a.source.length);
const STOCK_PHRASE_RE = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:${PHRASE_ALTERNATIVES.map((a) => `(${a.source})`).join("|")})(?![\\p{L}\\p{N}])`,
  "giu",
);

function stockPhraseHits(text: string): LintHit[] {
  return [...text.matchAll(STOCK_PHRASE_RE)].map((match) => {
    const span = { start: match.index, end: match.index + match[0].length };
    let group = 1;
    while (match[group] === undefined && group < PHRASE_ALTERNATIVES.length) group++;
    const family = PHRASE_ALTERNATIVES[group - 1]!.family;
    const phrase = match[0].toLowerCase().replace(/\s+/g, " ").replace(/’/g, "'");
    return makeHit(text, span, "stock-phrase", `${family.label} "${phrase}"`, family.weight);
  });
}

// ---------------------------------------------------------------------------------------------------
// (b) repeated openings

interface Sentence {
  /** From the first word to the end of the terminal punctuation (and closing quotes). */
  span: Span;
  first: Span;
  words: number;
  paragraph: number;
}

/** Sentence ends (terminal punctuation plus closing quotes, before whitespace) and paragraph breaks. */
const SENTENCE_BOUNDARY = /[.!?…]+[”"’')\]]*(?=\s|$)|\n[ \t]*\n/g;
/** Abbreviations whose period does not end a sentence ("Mr. Quill"), lower-cased, without the dot. */
const ABBREVIATIONS = new Set(["mr", "mrs", "ms", "dr", "st", "mt", "jr", "sr", "prof", "capt", "lt", "vs"]);

/** Every sentence with at least one word, in order; one pass over the boundaries and one over the words. */
function sentences(text: string, words: Span[]): Sentence[] {
  const found: Sentence[] = [];
  let index = 0;
  let cursor = 0;
  let paragraph = 0;
  const take = (end: number) => {
    while (index < words.length && words[index]!.start < cursor) index++;
    const first = index;
    while (index < words.length && words[index]!.start < end) index++;
    if (index > first) {
      const span = { start: words[first]!.start, end };
      found.push({ span, first: words[first]!, words: index - first, paragraph });
    }
  };
  for (const boundary of text.matchAll(SENTENCE_BOUNDARY)) {
    if (isAbbreviation(text, boundary.index)) continue;
    const paragraphBreak = boundary[0].startsWith("\n");
    const end = boundary.index + boundary[0].length;
    take(paragraphBreak ? boundary.index : end);
    cursor = end;
    if (paragraphBreak) paragraph++;
  }
  take(text.length);
  return found;
}

function isAbbreviation(text: string, periodIndex: number): boolean {
  if (text[periodIndex] !== ".") return false;
  const before = /[\p{L}]+$/u.exec(text.slice(Math.max(0, periodIndex - 5), periodIndex));
  return before !== null && ABBREVIATIONS.has(before[0].toLowerCase());
}

interface SentenceOpening {
  word: string;
  span: Span;
  paragraph: number;
}

/**
 * The first word of every sentence. A "sentence" starting in lower case is the tail of dialogue
 * (`"Go!" she said.`), not a new sentence, so it is skipped rather than counted as an opening.
 */
function sentenceOpenings(text: string, sentenceList: Sentence[]): SentenceOpening[] {
  const openings: SentenceOpening[] = [];
  for (const sentence of sentenceList) {
    const word = text.slice(sentence.first.start, sentence.first.end);
    if (!/^\p{Ll}/u.test(word)) {
      openings.push({ word: word.toLowerCase(), span: sentence.first, paragraph: sentence.paragraph });
    }
  }
  return openings;
}

const PRONOUNS = new Set(["he", "she", "it", "we", "they", "you"]);

/**
 * One hit per run of OPENING_RUN+ sentences in one paragraph opening alike; each sentence past the
 * second weighs 1 ("He", "She" and the other pronouns half; "I" half from the fourth sentence on). Runs
 * stop at paragraph breaks: "He… He…" then a new paragraph starting "He" reads naturally, while three in
 * one paragraph is the drumbeat we are after.
 */
function repeatedOpeningHits(text: string, sentenceList: Sentence[]): LintHit[] {
  const openings = sentenceOpenings(text, sentenceList);
  const hits: LintHit[] = [];
  let runStart = 0;
  for (let i = 1; i <= openings.length; i++) {
    const current = openings[i];
    const start = openings[runStart]!;
    if (current && current.word === start.word && current.paragraph === start.paragraph) continue;
    const length = i - runStart;
    const needed = start.word === "i" ? FIRST_PERSON_RUN : OPENING_RUN;
    if (length >= needed) {
      const perSentence = start.word === "i" || PRONOUNS.has(start.word) ? PRONOUN_RUN_WEIGHT : 1;
      const span = { start: start.span.start, end: openings[i - 1]!.span.end };
      const shown = text.slice(start.span.start, start.span.end);
      const note = `${length} sentences in a row open with "${shown}"`;
      hits.push(makeHit(text, span, "repeated-opening", note, (length - (needed - 1)) * perSentence));
    }
    runStart = i;
  }
  return hits;
}

/**
 * A paragraph whose first two words already opened at least two of the previous few paragraphs
 * ("She turned… / She turned…"): one hit per such paragraph, on its opening words. Paragraphs of speech
 * are left out: "“Go on.” / “Come on.” / “Go on.”" is conversation, and a transcript's "“The Coroner:"
 * is the form, not a tic.
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
  if (OPENING_QUOTES.has(text[paragraph.start]!)) return undefined;
  const first = nextWord(paragraph.start);
  const second = first && nextWord(first.end);
  if (!first || !second || second.start >= paragraph.end) return undefined;
  // Only whitespace between the two: "Yes. No." is not a repeated opening phrase.
  if (text.slice(first.end, second.start).trim()) return undefined;
  const key = text.slice(first.start, second.end).replace(/\s+/g, " ").toLowerCase();
  return { key, span: { start: first.start, end: second.end } };
}

const OPENING_QUOTES = new Set(["“", '"', "‘", "'", "«"]);

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
// (f) "It wasn't X. It was Y." and (g) narration fragments

/**
 * The reframe: a denial and its correction in the next clause, "It wasn't a threat. It was an offering."
 * / "This wasn't pollution; this was something else." / "He wasn't angry—he was afraid." Human 0.03 /
 * model 0.5 per 1000 words. The denied part stops at the first sentence end or dash, and the correction
 * must restart with the same subject (or it/this/that), so "It was not far. We walked." is left alone.
 */
const REFRAME = new RegExp(
  "(?<![\\p{L}])(it|this|that|he|she|they|i|we|you)" +
    "(?:\\s+(?:was|is|were|are|am)\\s+not|\\s+(?:wasn|isn|weren|aren)['’]t|['’]s\\s+not|['’]re\\s+not)" +
    '(?![\\p{L}])[^.!?;:—–\\n]{1,60}[.!?;:—–][”"’]?\\s*' +
    "(?:\\1|it|this|that)(?:\\s+(?:was|is|were|are|am)|['’](?:s|re|m))(?![\\p{L}])",
  "giu",
);

/** A denial that runs on into a second clause ("He was not handsome, and his manners…") is not a reframe. */
const CLAUSE_JOIN = /,\s+(?:and|but)\s/i;

function reframeHits(text: string): LintHit[] {
  return [...text.matchAll(REFRAME)]
    .filter((match) => !CLAUSE_JOIN.test(match[0]))
    .map((match) => {
      const span = { start: match.index, end: match.index + match[0].length };
      return makeHit(text, span, "reframe", 'construction "It wasn\'t X. It was Y."', REFRAME_WEIGHT);
    });
}

/** First words of the short narration sentences models punctuate their paragraphs with. */
const FRAGMENT_LEADS = new Set(
  "not just only no nothing never maybe always something someone somewhere still almost too again then yet or and but even like because".split(
    " ",
  ),
);
const FRAGMENT_WORDS = 4;

/** Sentences of up to FRAGMENT_WORDS words opening with a fragment lead: "Not yet." "Just tired." "Or worse." */
function fragmentSpans(text: string, sentenceList: Sentence[]): Span[] {
  return sentenceList
    .filter((sentence) => {
      if (sentence.words > FRAGMENT_WORDS) return false;
      const first = text.slice(sentence.first.start, sentence.first.end);
      return /^\p{Lu}/u.test(first) && FRAGMENT_LEADS.has(first.toLowerCase());
    })
    .map((sentence) => ({ start: sentence.span.start, end: sentence.span.end }));
}

/**
 * Quoted speech: from an opening quote to its closing quote, or to the end of the paragraph when a
 * speech runs on into the next one (which reopens its own quote). Lazy and bounded by the closing quote
 * or a blank line, so the scan stays linear.
 */
const QUOTED = /“[^”]*?(?:”|\n[ \t]*\n|$)|(?<![\p{L}\p{N}])"[^"]*?(?:"|\n[ \t]*\n|$)/gu;

function dialogueSpans(text: string): Span[] {
  return [...text.matchAll(QUOTED)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

/** The spans (sorted) that do not start inside any of `exclude` (sorted, not overlapping). */
function outside(spans: Span[], exclude: Span[]): Span[] {
  let index = 0;
  return spans.filter((span) => {
    while (index < exclude.length && exclude[index]!.end <= span.start) index++;
    const around = exclude[index];
    return !around || span.start < around.start;
  });
}

// ---------------------------------------------------------------------------------------------------
// hits and prompts

function makeHit(text: string, span: Span, rule: LintRule, note: string, weight: number): LintHit {
  const matched = text.slice(span.start, span.end);
  return {
    rule,
    start: span.start,
    end: span.end,
    text: matched,
    excerpt: excerptOf(text, span),
    note,
    weight,
  };
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
