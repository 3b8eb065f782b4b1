/**
 * Over 300 lines: the book-level repetition checks of stage 12 and the report — scenes that open or close
 * alike, phrases repeated across the book, and the same gesture given to one character again and again —
 * with the word lists and thresholds each one needs.
 *
 * A reader does not notice one scene's stock phrase; they notice the fifth scene that ends on a man
 * closing a door, the eighth "hum of the servers", Mara rubbing her temples in every chapter. None of
 * that shows scene by scene, so these checks read the whole book at once. Each names the scenes
 * concerned, so a repair can rewrite those scenes only and say exactly what to change.
 *
 * Linear in the length of the book (one tokenising pass per scene, hash maps keyed by phrase), plus a
 * comparison of every scene's first and last sentence with every other's: a few thousand comparisons of
 * short word lists for a 100-scene book. A 120,000-word book takes well under a second.
 *
 * Thresholds are set so published fiction passes (tests/repetition.test.ts runs the checks on the
 * novels in `../shared/lint-corpus/`, cut into scenes) while a book that reuses an ending, a phrase or a
 * gesture scene after scene fails.
 */
import { stem } from "./motifs";
import { wordRegex } from "./words";

export interface RepetitionScene {
  number: number;
  text: string;
}

/** Scenes whose first (or last) sentences are near-duplicates of one another. */
export interface AlikeGroup {
  /** Scene numbers, ascending. */
  scenes: number[];
  /** The sentence of each scene, in the order of `scenes`, as written (whitespace collapsed). */
  sentences: string[];
}

/** A phrase of four words or more that recurs across the book beyond what the book's length allows. */
export interface RepeatedPhrase {
  /** The words, lower-cased, punctuation dropped: "the hum of the servers". */
  phrase: string;
  count: number;
  /** Scenes it occurs in, ascending. */
  scenes: number[];
}

/** One character's gesture, repeated across scenes. */
export interface CharacterTic {
  /** The cast member, as the cast names them. */
  character: string;
  /** The gesture as first written, lower-cased: "rubbed her temples". */
  gesture: string;
  count: number;
  /** Scenes it occurs in, ascending. */
  scenes: number[];
}

export interface RepetitionReport {
  words: number;
  scenes: number;
  openings: AlikeGroup[];
  closings: AlikeGroup[];
  /** Worst first (most occurrences). */
  phrases: RepeatedPhrase[];
  /** Worst first (most scenes). */
  tics: CharacterTic[];
  /** The thresholds for a book of this length: occurrences a phrase may have, scenes a gesture may recur in. */
  allowed: { phrase: number; ticScenes: number };
}

// ---------------------------------------------------------------------------------------------------
// thresholds

/**
 * Two sentences are alike when at least 70% of the longer one's words survive a word-level edit:
 * "Mara closed the door behind her." and "Tobias closed the door behind him." (2 of 6 words changed,
 * 0.67) are not, "She closed the door behind her." and "He closed the door behind her." (0.83) are.
 * Word-level edit distance rather than shingles, so one changed word in a short sentence counts as one
 * change instead of breaking three 3-grams.
 */
export const ALIKE_SIMILARITY = 0.7;
/** Sentences shorter than this ("He left.", "Yes.") recur by chance and are not compared. */
export const MIN_SENTENCE_WORDS = 3;
/** Only the first (last) this many words of a long opening (closing) are compared. */
const COMPARED_WORDS = 40;

/** Length of the word sequences counted across the book. */
export const PHRASE_WORDS = 4;
/**
 * A phrase is repeated when it occurs in at least PHRASE_MIN_SCENES scenes and more than
 * max(PHRASE_MIN_COUNT, PHRASE_RATE per 10,000 words) times: five times in a short book, thirteen in a
 * 120,000-word one. Once the lists below set aside function words, generic words ("at the same time")
 * and names, the commonest phrase of 20,000 words of a published novel in the corpus (read as sixteen
 * scenes) occurs two or three times; the one exception is Jack London's "the man in the red sweater",
 * an epithet used as a name, nine times in five scenes, which this check would flag. Ten models'
 * chapters read the same way repeat their favourites five to eight times ("voice rough as gravel",
 * "took a deep breath", "crawled up my spine").
 */
export const PHRASE_MIN_SCENES = 3;
export const PHRASE_MIN_COUNT = 4;
export const PHRASE_RATE = 1;
/** Content words a counted phrase must hold: "he said to her" and "in the middle of" are not phrases. */
const PHRASE_CONTENT_WORDS = 2;

/**
 * A character's gesture is a tic when it appears in at least TIC_MIN_SCENES scenes and at least
 * TIC_SCENE_SHARE of the book's scenes: three scenes of a short book, five of a 50-scene novel. In the
 * published novels of the corpus no character repeats a gesture in more than two scenes of sixteen.
 */
export const TIC_MIN_SCENES = 3;
export const TIC_SCENE_SHARE = 0.1;
/** The nearest cast name at most this many words before a gesture is the one who makes it. */
const ATTRIBUTION_WORDS = 40;

// ---------------------------------------------------------------------------------------------------
// word lists

/**
 * Words that never make a phrase distinctive: articles, pronouns, prepositions, auxiliaries and their
 * contractions, plain adverbs, speech verbs (a dialogue tag is boilerplate, not a tic), honorifics, and
 * the generic nouns and verbs every novel leans on ("at the same time", "for the first time", "he looked
 * back at the").
 */
const FUNCTION_WORDS = new Set(
  (
    "a an the this that these those some any each every no all both either neither another such what which " +
    "whose whatever i me my mine myself you your yours yourself he him his himself she her hers herself it " +
    "its itself we us our ours ourselves they them their theirs themselves one ones who whom whoever of in " +
    "on at to into onto upon from by with without within for about over under through between among against " +
    "across along around after before behind beneath beside besides near off out up down as than like " +
    "toward towards till until since during past beyond inside outside above below and or but nor so yet if " +
    "then because while though although unless whether when where why how once is are was were be been " +
    "being am has have had having do does did done doing will would shall should can could may might must " +
    "ought not never also just only very too even still again ever here there now already perhaps quite " +
    "rather almost much more most less least well really yes oh ah don't didn't can't couldn't won't " +
    "wouldn't isn't wasn't weren't aren't hadn't hasn't haven't shouldn't it's i'm i'd i'll he's she's " +
    "that's there's what's let's you're we're they're i've you've we've they've he'd she'd they'd we'd " +
    "you'd he'll she'll we'll they'll you'll said says say saying asked asks replied answered told tell " +
    "cried added went go goes going come came comes coming get got make made know knew think thought see " +
    "saw seen seemed seem look looked looking take took put let mr mrs ms miss sir madam dr lady lord same " +
    "other others first last next time times way end side middle part little long while moment thing " +
    "things something nothing anything everything someone anyone nobody everyone somebody anybody back " +
    "good great old new own many few several two three four five half whole sort kind lot right left away " +
    "round"
  ).split(" "),
);

/** Honorifics that may precede a cast name in the text but are not the name. */
const HONORIFICS = new Set(
  "mr mrs ms miss dr prof professor sir lady lord captain capt aunt uncle father mother".split(" "),
);

/** What a gesture does something with: the body, the breath, and what is worn close to it. */
const GESTURE_OBJECTS = new Set(
  (
    "eye eyes hand hands head arm arms jaw jaws shoulder shoulders finger fingers fingertips thumb thumbs " +
    "fist fists knuckles wrist wrists palm palms lip lips mouth teeth tongue chin cheek cheeks nose ear ears " +
    "earlobe neck throat brow brows eyebrow eyebrows forehead temple temples face hair beard moustache " +
    "mustache chest heart knee knees leg legs foot feet heel heels breath glasses spectacles sleeve sleeves " +
    "collar cuff cuffs ring watch necklace pendant scarf"
  ).split(" "),
);
const POSSESSIVE_WORDS = new Set("her his their my your our".split(" "));
/** What may stand between a gesture's verb and its object besides adjectives: "took a deep breath". */
const DETERMINERS = new Set("a an the another one both".split(" "));
/**
 * Words that end the search for a gesture's verb: the object then belongs to a phrase of its own ("with
 * his hands", "in her eyes", "of his face"), not to the verb before it.
 */
const GESTURE_STOPS = new Set(
  "with in of and or but nor from by for as than that which who whom while when if because".split(" "),
);
/** Irregular verbs gestures are made with; regular ones end in -ed, -ing or -s. */
const IRREGULAR_VERBS = new Set(
  (
    "bit bite bites ran run runs shook shake shakes held hold holds drew draw draws set sets put puts threw " +
    "throw throws hung hang hangs rose spread struck stuck swung wrung lit dug bent tore took take takes " +
    "gave kept caught fell sank froze grew went"
  ).split(" "),
);

// ---------------------------------------------------------------------------------------------------
// entry point

export function findRepetition(scenes: RepetitionScene[], cast: string[] = []): RepetitionReport {
  const written = scenes.filter((s) => s.text.trim()).sort((a, b) => a.number - b.number);
  const tokenised = written.map((s) => ({ number: s.number, tokens: tokenise(s.text) }));
  const words = tokenised.reduce((n, s) => n + s.tokens.words.length, 0);
  const parts = castParts(cast);
  const allowed = {
    phrase: Math.max(PHRASE_MIN_COUNT, Math.floor((PHRASE_RATE * words) / 10_000)),
    ticScenes: Math.max(TIC_MIN_SCENES, Math.ceil(written.length * TIC_SCENE_SHARE)) - 1,
  };
  const openings = alikeGroups(written.map((s) => ({ number: s.number, sentence: firstSentence(s.text) })));
  const closings = alikeGroups(written.map((s) => ({ number: s.number, sentence: lastSentence(s.text) })));
  // An opening or closing already found alike is not counted again as a repeated phrase.
  const skipped = new Map<number, { head: number; tail: number }>();
  const skip = (groups: AlikeGroup[], end: "head" | "tail") => {
    for (const group of groups) {
      group.scenes.forEach((number, i) => {
        const entry = skipped.get(number) ?? { head: 0, tail: 0 };
        entry[end] = normalisedWords(group.sentences[i]!).length;
        skipped.set(number, entry);
      });
    }
  };
  skip(openings, "head");
  skip(closings, "tail");
  return {
    words,
    scenes: written.length,
    openings,
    closings,
    phrases: repeatedPhrases(tokenised, vocabulary(tokenised, parts), allowed.phrase, skipped),
    tics: characterTics(tokenised, parts, allowed.ticScenes),
    allowed,
  };
}

// ---------------------------------------------------------------------------------------------------
// openings and closings

const SENTENCE_END = /[.!?…]+[”"’')\]]*(?=\s|$)/g;
const ABBREVIATIONS = new Set(["mr", "mrs", "ms", "dr", "st", "mt", "jr", "sr", "prof", "capt", "lt", "vs"]);

/** Where sentences end in one paragraph: after terminal punctuation not followed by lower case. */
function sentenceEnds(paragraph: string): number[] {
  const ends: number[] = [];
  for (const match of paragraph.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    if (match[0].startsWith(".") && ABBREVIATIONS.has(wordBefore(paragraph, match.index))) continue;
    // `"Go!" she said.` is one sentence.
    if (/^\s+\p{Ll}/u.test(paragraph.slice(end, end + 3))) continue;
    ends.push(end);
  }
  return ends;
}

function wordBefore(text: string, index: number): string {
  return /\p{L}+$/u.exec(text.slice(Math.max(0, index - 6), index))?.[0].toLowerCase() ?? "";
}

function paragraphs(text: string): string[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The scene's first sentence as written, whitespace collapsed. */
export function firstSentence(text: string): string {
  const first = paragraphs(text)[0] ?? "";
  const end = sentenceEnds(first)[0] ?? first.length;
  return collapse(first.slice(0, end));
}

/** The scene's last sentence as written, whitespace collapsed. */
export function lastSentence(text: string): string {
  const last = paragraphs(text).at(-1) ?? "";
  const ends = sentenceEnds(last).filter((end) => end < last.trimEnd().length);
  return collapse(last.slice(ends.at(-1) ?? 0));
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function normalisedWords(text: string): string[] {
  return [...text.matchAll(wordRegex())].map((m) => m[0].toLowerCase().replace(/’/g, "'"));
}

/**
 * Scenes linked by alike sentences, grouped transitively (union-find), each group in scene order. A
 * group of two is already a finding: two scenes ending on the same line is what a reader notices.
 */
function alikeGroups(items: { number: number; sentence: string }[]): AlikeGroup[] {
  const compared = items.map((item) => ({
    ...item,
    words: normalisedWords(item.sentence).slice(0, COMPARED_WORDS),
  }));
  const parent = compared.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (let i = 0; i < compared.length; i++) {
    const a = compared[i]!.words;
    if (a.length < MIN_SENTENCE_WORDS) continue;
    for (let j = i + 1; j < compared.length; j++) {
      const b = compared[j]!.words;
      if (b.length < MIN_SENTENCE_WORDS || root(i) === root(j)) continue;
      if (similarity(a, b) >= ALIKE_SIMILARITY) parent[root(j)] = root(i);
    }
  }
  const groups = new Map<number, number[]>();
  compared.forEach((_, i) => {
    groups.set(root(i), [...(groups.get(root(i)) ?? []), i]);
  });
  return [...groups.values()]
    .filter((members) => members.length >= 2)
    .map((members) => ({
      scenes: members.map((i) => compared[i]!.number),
      sentences: members.map((i) => compared[i]!.sentence),
    }))
    .sort((a, b) => b.scenes.length - a.scenes.length || a.scenes[0]! - b.scenes[0]!);
}

/** 1 − (word-level edit distance ÷ the longer length), with cheap upper bounds checked first. */
export function similarity(a: string[], b: string[]): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  if (Math.min(a.length, b.length) / longer < ALIKE_SIMILARITY) return 0;
  // The edit distance is at least the longer length minus the words the two share.
  const counts = new Map<string, number>();
  for (const w of a) counts.set(w, (counts.get(w) ?? 0) + 1);
  let shared = 0;
  for (const w of b) {
    const left = counts.get(w) ?? 0;
    if (left > 0) {
      shared++;
      counts.set(w, left - 1);
    }
  }
  if (shared / longer < ALIKE_SIMILARITY) return shared / longer;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return 1 - previous[b.length]! / longer;
}

// ---------------------------------------------------------------------------------------------------
// repeated phrases

interface Tokens {
  /** Lower-cased words, curly apostrophes straightened. */
  words: string[];
  /** Whether a phrase may not run from the previous word into this one (sentence end, quote, paragraph). */
  breakBefore: boolean[];
  /** Whether the word opens a sentence, where a capital says nothing about it being a name. */
  initial: boolean[];
  capitalised: boolean[];
  /** Whether the word is inside quoted speech. */
  speech: boolean[];
  /** Whether anything but a space separates the word from the previous one (a comma included). */
  pauseBefore: boolean[];
}

type Scene = { number: number; tokens: Tokens };

enum Gap {
  None = 0,
  Break = 1,
  Sentence = 2,
}

/**
 * Words and what separates them, in one pass. Sentence ends and paragraph breaks start a sentence;
 * semicolons, colons, dashes, brackets and quotes only break a phrase. Straight and curly double quotes
 * open and close speech; a paragraph break closes it (a speech running on reopens its quote).
 */
function tokenise(text: string): Tokens {
  const tokens: Tokens = {
    words: [],
    breakBefore: [],
    initial: [],
    capitalised: [],
    speech: [],
    pauseBefore: [],
  };
  let previousEnd = 0;
  let speech = false;
  for (const match of text.matchAll(wordRegex())) {
    let gap: Gap = tokens.words.length === 0 ? Gap.Sentence : Gap.None;
    let newlines = 0;
    let pause = false;
    for (let i = previousEnd; i < match.index; i++) {
      const c = text[i]!;
      if (c === " " || c === "\t" || c === "\r") continue;
      if (c === "\n") {
        // One line break is wrapped text; a blank line ends the paragraph.
        if (++newlines >= 2) {
          gap = Gap.Sentence;
          speech = false;
          pause = true;
        }
        continue;
      }
      pause = true;
      if (c === "." && ABBREVIATIONS.has(tokens.words.at(-1) ?? "")) {
        if (gap === Gap.None) gap = Gap.Break;
      } else if (c === "." || c === "!" || c === "?" || c === "…") gap = Gap.Sentence;
      else if (c === "“" || (c === '"' && !speech)) {
        speech = true;
        gap = Gap.Sentence;
      } else if (c === "”" || c === '"') {
        speech = false;
        if (gap === Gap.None) gap = Gap.Break;
      } else if (gap === Gap.None && c !== ",") gap = Gap.Break;
    }
    const word = match[0];
    const lower = word.toLowerCase();
    tokens.words.push(lower.includes("’") ? lower.replace(/’/g, "'") : lower);
    tokens.breakBefore.push(gap !== Gap.None);
    tokens.initial.push(gap === Gap.Sentence);
    tokens.capitalised.push(word.charCodeAt(0) !== lower.charCodeAt(0));
    tokens.speech.push(speech);
    tokens.pauseBefore.push(pause);
    previousEnd = match.index + word.length;
  }
  return tokens;
}

/**
 * How often each word occurs in the book, and which words are names, which a book repeats as it must
 * ("said Mrs. Jennings", "Mara turned to Tobias"): the cast's name parts, and any word written with a
 * capital inside a sentence more often than without one.
 */
function vocabulary(
  scenes: Scene[],
  parts: CastPart[],
): { frequency: Map<string, number>; proper: Set<string> } {
  const frequency = new Map<string, number>();
  const capitalisedInside = new Map<string, number>();
  for (const { tokens } of scenes) {
    const { words, capitalised, initial } = tokens;
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      frequency.set(word, (frequency.get(word) ?? 0) + 1);
      if (capitalised[i] && !initial[i]) capitalisedInside.set(word, (capitalisedInside.get(word) ?? 0) + 1);
    }
  }
  const proper = new Set(parts.map((p) => p.lower));
  for (const [word, count] of capitalisedInside) {
    // Capitalised inside a sentence more often than written any other way (lower case, or opening one).
    if (count * 2 > frequency.get(word)!) proper.add(word);
  }
  return { frequency, proper };
}

function isContent(word: string, proper: Set<string>): boolean {
  return word.length > 2 && !FUNCTION_WORDS.has(word) && !proper.has(word) && !/^\p{N}/u.test(word);
}

const POSITION = 2 ** 21;

/**
 * Counts of four-word windows, keyed by the words' ids in an open-addressing table of typed arrays: a
 * 120,000-word book has about as many windows, and one object or string per window would cost more in
 * garbage collection than the counting itself.
 */
class WindowCounts {
  private readonly mask: number;
  /** Four word ids per slot; -1 marks an empty slot. */
  private readonly keys: Int32Array;
  /** Slot → entry index. */
  private readonly slots: Int32Array;
  readonly count: number[] = [];
  readonly sceneCount: number[] = [];
  readonly lastScene: number[] = [];
  /** Every occurrence: its entry and its position (scene index × POSITION + first word index). */
  readonly occurrenceEntry: number[] = [];
  readonly occurrencePosition: number[] = [];

  constructor(windows: number) {
    let size = 1024;
    while (size < windows * 2) size *= 2;
    this.mask = size - 1;
    this.keys = new Int32Array(size * 4).fill(-1);
    this.slots = new Int32Array(size);
  }

  add(a: number, b: number, c: number, d: number, scene: number, position: number): void {
    const hash =
      Math.imul(a, 0x9e3779b1) ^
      Math.imul(b, 0x85ebca77) ^
      Math.imul(c, 0xc2b2ae3d) ^
      Math.imul(d, 0x27d4eb2f);
    let slot = (hash ^ (hash >>> 15)) & this.mask;
    const keys = this.keys;
    for (;;) {
      const k = slot * 4;
      if (keys[k] === -1) {
        keys[k] = a;
        keys[k + 1] = b;
        keys[k + 2] = c;
        keys[k + 3] = d;
        const entry = this.count.length;
        this.slots[slot] = entry;
        this.count.push(1);
        this.sceneCount.push(1);
        this.lastScene.push(scene);
        this.record(entry, position);
        return;
      }
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) {
        const entry = this.slots[slot]!;
        this.count[entry]!++;
        if (this.lastScene[entry] !== scene) {
          this.sceneCount[entry]!++;
          this.lastScene[entry] = scene;
        }
        this.record(entry, position);
        return;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  private record(entry: number, position: number): void {
    this.occurrenceEntry.push(entry);
    this.occurrencePosition.push(position);
  }
}

/**
 * Every window of PHRASE_WORDS words of narration inside one sentence, with at least two content words,
 * counted across the book. Speech is left out: a character's catchphrase is characterisation
 * ("doesn't make any difference", five times in Hemingway), and narration is where a model's tics live.
 */
function repeatedPhrases(
  scenes: Scene[],
  { frequency, proper }: { frequency: Map<string, number>; proper: Set<string> },
  allowed: number,
  skipped: Map<number, { head: number; tail: number }>,
): RepeatedPhrase[] {
  // Per distinct word an id, and its kind: 0 a word too rare for any phrase holding it to be repeated,
  // 1 a function word, 2 a content word. Most windows of real prose hold a rare word and are never counted.
  const idOf = new Map<string, number>();
  const kinds: number[] = [];
  const ids = scenes.map(({ tokens }) =>
    Int32Array.from(tokens.words, (w) => {
      let id = idOf.get(w);
      if (id === undefined) {
        id = kinds.length;
        idOf.set(w, id);
        kinds.push(frequency.get(w)! <= allowed ? 0 : isContent(w, proper) ? 2 : 1);
      }
      return id;
    }),
  );
  const table = new WindowCounts(ids.reduce((n, list) => n + list.length, 0));
  scenes.forEach(({ number, tokens }, sceneIndex) => {
    const w = ids[sceneIndex]!;
    const { head, tail } = skipped.get(number) ?? { head: 0, tail: 0 };
    let runStart = head;
    let contentWords = 0;
    for (let i = head; i < w.length - tail; i++) {
      const k = kinds[w[i]!]!;
      if (tokens.breakBefore[i] || tokens.speech[i] || k === 0) {
        runStart = tokens.speech[i] || k === 0 ? i + 1 : i;
        contentWords = 0;
      }
      if (i < runStart) continue;
      if (k === 2) contentWords++;
      const start = i - PHRASE_WORDS + 1;
      if (start > runStart && kinds[w[start - 1]!] === 2) contentWords--;
      if (start < runStart || contentWords < PHRASE_CONTENT_WORDS) continue;
      table.add(w[start]!, w[start + 1]!, w[start + 2]!, w[i]!, number, sceneIndex * POSITION + start);
    }
  });
  // The entries over the allowance, each with its occurrences, worst first.
  const over = new Map<number, number[]>();
  table.count.forEach((count, entry) => {
    if (count > allowed && table.sceneCount[entry]! >= PHRASE_MIN_SCENES) over.set(entry, []);
  });
  table.occurrenceEntry.forEach((entry, i) => {
    over.get(entry)?.push(table.occurrencePosition[i]!);
  });
  const windowAt = (position: number) => {
    const words = scenes[Math.floor(position / POSITION)]!.tokens.words;
    const first = position % POSITION;
    return words.slice(first, first + PHRASE_WORDS).join(" ");
  };
  const flagged = [...over]
    .map(([entry, positions]) => ({ key: windowAt(positions[0]!), count: table.count[entry]!, positions }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  // Overlapping windows of one longer phrase are one finding: the worst window grows to the words all
  // its occurrences share, and any window or phrase inside one already found is dropped.
  const found: RepeatedPhrase[] = [];
  const covered = new Set<string>();
  for (const { key, count, positions } of flagged) {
    if (covered.has(key)) continue;
    const phrase = extend(scenes, positions);
    const windows = phrase
      .slice(0, -PHRASE_WORDS + 1)
      .map((_, i) => phrase.slice(i, i + PHRASE_WORDS).join(" "));
    if (windows.some((w) => covered.has(w))) continue;
    for (const w of windows) covered.add(w);
    const sceneNumbers = [...new Set(positions.map((p) => scenes[Math.floor(p / POSITION)]!.number))];
    found.push({ phrase: phrase.join(" "), count, scenes: sceneNumbers });
  }
  return found;
}

/** The window's words, grown left and right while every occurrence has the same neighbour. */
function extend(scenes: Scene[], positions: number[]): string[] {
  const at = positions.map((p) => ({ tokens: scenes[Math.floor(p / POSITION)]!.tokens, word: p % POSITION }));
  const neighbour = (offset: number) => {
    let shared: string | undefined;
    for (const { tokens, word } of at) {
      const index = word + offset;
      // The boundary between the window and the new word must not be a break, nor the word speech.
      const boundary = offset < 0 ? index + 1 : index;
      if (index < 0 || index >= tokens.words.length || tokens.breakBefore[boundary] || tokens.speech[index])
        return undefined;
      if (shared === undefined) shared = tokens.words[index];
      else if (shared !== tokens.words[index]) return undefined;
    }
    return shared;
  };
  let before = 0;
  let after = 0;
  while (neighbour(-(before + 1)) !== undefined) before++;
  while (neighbour(PHRASE_WORDS + after) !== undefined) after++;
  const { tokens, word } = at[0]!;
  return tokens.words.slice(word - before, word + PHRASE_WORDS + after);
}

// ---------------------------------------------------------------------------------------------------
// gestures per character

interface CastPart {
  lower: string;
  castName: string;
}

/** Name parts that identify one cast member; a part two members share ("Quill") identifies neither. */
function castParts(cast: string[]): CastPart[] {
  const parts = cast.flatMap((castName) =>
    normalisedWords(castName)
      .filter((lower) => lower.length >= 2 && !HONORIFICS.has(lower))
      .map((lower) => ({ lower, castName })),
  );
  const owners = new Map<string, Set<string>>();
  for (const p of parts) owners.set(p.lower, (owners.get(p.lower) ?? new Set()).add(p.castName));
  return parts.filter((p) => owners.get(p.lower)!.size === 1);
}

function isGestureVerb(word: string): boolean {
  if (IRREGULAR_VERBS.has(word)) return true;
  if (FUNCTION_WORDS.has(word) || GESTURE_OBJECTS.has(word) || word.length < 4) return false;
  return /(?:ed|ing|[^su's]s)$/.test(word);
}

/**
 * "rubbed her temples" and "rubbing his temple" meet, as do "took a deep breath" and "took another
 * deep breath": possessives and articles dropped, the other words stemmed.
 */
function gestureKey(words: string[]): string {
  return words
    .filter((w) => !POSSESSIVE_WORDS.has(w) && !DETERMINERS.has(w))
    .map(stem)
    .join(" ");
}

/**
 * The gesture made with the object at `i`, as words: a verb up to four words before it with a
 * possessive or an article between ("rubbed her temples", "took a deep breath", "ran a hand"), or else
 * a possessive before it and a verb after ("her jaw tightened"). Undefined when neither shape holds.
 */
function gestureAt(tokens: Tokens, i: number): string[] | undefined {
  const { words, pauseBefore } = tokens;
  let owned = false;
  for (let j = i - 1; j >= Math.max(0, i - 4) && !pauseBefore[j + 1]; j--) {
    const w = words[j]!;
    if (POSSESSIVE_WORDS.has(w) || DETERMINERS.has(w)) owned = true;
    else if (GESTURE_STOPS.has(w)) break;
    else if (isGestureVerb(w)) return owned ? words.slice(j, i + 1) : undefined;
  }
  const next = words[i + 1];
  const bare = i === 0 || pauseBefore[i];
  const possessed = !bare && POSSESSIVE_WORDS.has(words[i - 1]!);
  if ((bare || possessed) && next && !pauseBefore[i + 1]) {
    if (IRREGULAR_VERBS.has(next) || (/ed$/.test(next) && isGestureVerb(next)))
      return words.slice(possessed ? i - 1 : i, i + 2);
  }
  return undefined;
}

/**
 * Each gesture of narration goes to the nearest cast name before it, within ATTRIBUTION_WORDS words
 * ("Mara set the cup down. She rubbed her temples."); a gesture with no name near enough is nobody's.
 * A (character, gesture) pair found in more than `allowedScenes` scenes is a tic.
 */
function characterTics(scenes: Scene[], parts: CastPart[], allowedScenes: number): CharacterTic[] {
  const names = new Map(parts.map((p) => [p.lower, p.castName]));
  if (names.size === 0) return [];
  const found = new Map<string, CharacterTic>();
  for (const { number, tokens } of scenes) {
    let named: { at: number; castName: string } | undefined;
    tokens.words.forEach((word, i) => {
      if (tokens.capitalised[i]) {
        const castName = names.get(word.replace(/'s$/, ""));
        if (castName) named = { at: i, castName };
        return;
      }
      if (tokens.speech[i] || !GESTURE_OBJECTS.has(word)) return;
      if (!named || i - named.at > ATTRIBUTION_WORDS) return;
      const gesture = gestureAt(tokens, i);
      if (!gesture) return;
      const id = `${named.castName}\u0000${gestureKey(gesture)}`;
      const tic = found.get(id);
      if (!tic) {
        found.set(id, { character: named.castName, gesture: gesture.join(" "), count: 1, scenes: [number] });
      } else {
        tic.count++;
        if (tic.scenes.at(-1) !== number) tic.scenes.push(number);
      }
    });
  }
  return [...found.values()]
    .filter((tic) => tic.scenes.length > allowedScenes)
    .sort((a, b) => b.scenes.length - a.scenes.length || b.count - a.count);
}
