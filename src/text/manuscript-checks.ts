/**
 * Over 300 lines: every check of stage 12 with the row it yields, and the notes that send a scene to
 * repair for what the book-level repetition checks found in it.
 *
 * Output validation (stage 12): the deterministic checks run on the finished manuscript.
 *
 * Every check yields a row whether it passed or failed, so the manuscript report can say what was
 * verified and not only what went wrong; `failing` then tells the repair loop which pass each scene
 * needs. Most checks read one scene; the repetition checks (repetition.ts) read the whole book and
 * yield book rows, while naming the scenes a repair should change. Everything here is linear in the
 * length of the book: a 120,000-word novel validates in well under a second.
 */

import { thousands } from "./format";
import { LINT_THRESHOLD, lintProse } from "./lint";
import { endsWithTerminalPunctuation, findMetaText } from "./meta";
import { motifForCue, motifPresent } from "./motifs";
import { findNameVariants } from "./names";
import { type AlikeGroup, findRepetition, type RepetitionReport } from "./repetition";
import { countWords, lastWords, splitParagraphs, truncateWords } from "./words";

export type CheckId =
  | "present"
  | "length"
  | "meta"
  | "ending"
  | "repeated_paragraph"
  | "names"
  | "lint"
  | "motifs"
  | "openings"
  | "closings"
  | "repeated_phrases"
  | "tics";

/** The book-level repetition checks, in report order. */
export const REPETITION_CHECKS: CheckId[] = ["openings", "closings", "repeated_phrases", "tics"];

export interface ValidationScene {
  number: number;
  chapter: number;
  title: string;
  text: string | null;
  targetWords: number;
  motifCues: string[];
}

export interface ValidationInput {
  scenes: ValidationScene[];
  bookTargetWords: number;
  cast: string[];
  motifs: string[];
}

export interface CheckResult {
  check: CheckId;
  /** null for a whole-book check. */
  scene: number | null;
  ok: boolean;
  detail: string;
}

export interface ValidationResult {
  /** Every check that was run, passed or failed: one row per scene per check, plus book-level rows. */
  results: CheckResult[];
  /**
   * Scene number → the checks it failed, book-level repetition checks included for the scenes that
   * repeat what an earlier scene already did.
   */
  failing: Map<number, CheckId[]>;
  /** What the repetition checks found, for the report. */
  repetition: RepetitionReport;
  /** Scene number → what the repetition checks found in it, one line each, for its repair. */
  repetitionNotes: Map<number, { check: CheckId; note: string }[]>;
  book: { words: number; target: number; ok: boolean };
  passed: number;
  failed: number;
}

/** Scene and book word counts may deviate from their targets by this fraction either way. */
export const WORD_TOLERANCE = 0.15;

/**
 * Paragraphs shorter than this are not compared across scenes: "Yes." or "She nodded." recur
 * legitimately, while a repeated paragraph of eight words or more is almost always a model looping.
 */
const MIN_REPEAT_WORDS = 8;
/** How many findings a detail names before summarising the rest as a count. */
const MAX_LISTED = 3;

const fmt = thousands;

/** "+4%", "−19%", "0%" (a true minus sign); "n/a" without a target. */
export function formatDeviation(actual: number, target: number): string {
  if (target <= 0) return "n/a";
  const percent = Math.round(((actual - target) / target) * 100);
  if (percent === 0) return "0%";
  return percent > 0 ? `+${percent}%` : `−${-percent}%`;
}

export function withinTolerance(actual: number, target: number): boolean {
  return target <= 0 || Math.abs(actual - target) <= target * WORD_TOLERANCE;
}

export function validateManuscript(input: ValidationInput): ValidationResult {
  const scenes = [...input.scenes].sort((a, b) => a.number - b.number);
  const written = scenes.flatMap((scene) => {
    const text = writtenText(scene);
    return text === null ? [] : [{ scene, text }];
  });
  const repeats = findRepeatedParagraphs(written.map(({ scene, text }) => ({ number: scene.number, text })));
  const results: CheckResult[] = [];
  let bookWords = 0;
  for (const scene of scenes) {
    const text = writtenText(scene);
    if (text === null) {
      results.push(row("present", scene.number, false, `scene ${scene.number} "${scene.title}" is missing`));
      continue;
    }
    const words = countWords(text);
    bookWords += words;
    results.push(
      row("present", scene.number, true, `${fmt(words)} words`),
      row(
        "length",
        scene.number,
        withinTolerance(words, scene.targetWords),
        lengthDetail(words, scene.targetWords),
      ),
      ...contentChecks(scene, text, input, repeats.get(scene.number)),
    );
  }
  const target = input.bookTargetWords;
  const bookOk = withinTolerance(bookWords, target);
  results.push(row("length", null, bookOk, `book: ${lengthDetail(bookWords, target)}`));
  const repetition = findRepetition(
    written.map(({ scene, text }) => ({ number: scene.number, text })),
    input.cast,
  );
  results.push(...repetitionRows(repetition));
  return summarise(results, { words: bookWords, target, ok: bookOk }, repetition);
}

/** A missing or blank scene has no text to check. */
function writtenText(scene: ValidationScene): string | null {
  return scene.text?.trim() ? scene.text : null;
}

function row(check: CheckId, scene: number | null, ok: boolean, detail: string): CheckResult {
  return { check, scene, ok, detail };
}

/** "812 words, target 1,000 (−19%)". */
function lengthDetail(words: number, target: number): string {
  const deviation = target > 0 ? ` (${formatDeviation(words, target)})` : "";
  return `${fmt(words)} words, target ${fmt(target)}${deviation}`;
}

/** The content checks of one written scene, in report order. */
function contentChecks(
  scene: ValidationScene,
  text: string,
  input: ValidationInput,
  repeat: string | undefined,
): CheckResult[] {
  const n = scene.number;
  return [
    metaRow(n, text),
    endingRow(n, text),
    row("repeated_paragraph", n, repeat === undefined, repeat ?? "no repeated paragraphs"),
    namesRow(n, text, input.cast),
    lintRow(n, text),
    motifsRow(n, text, scene.motifCues, input.motifs),
  ];
}

function metaRow(scene: number, text: string): CheckResult {
  const found = findMetaText(text);
  if (found.length === 0) return row("meta", scene, true, "no meta-text");
  return row("meta", scene, false, listed(found, "meta-text"));
}

function endingRow(scene: number, text: string): CheckResult {
  if (endsWithTerminalPunctuation(text)) return row("ending", scene, true, "ends on a full sentence");
  const tail = lastWords(text, 6).replace(/\s+/g, " ");
  return row("ending", scene, false, `ends mid-sentence: "…${tail}"`);
}

function namesRow(scene: number, text: string, cast: string[]): CheckResult {
  const variants = findNameVariants(text, cast);
  if (variants.length === 0) return row("names", scene, true, "names spelled as in the cast");
  const shown = variants.map((v) => `"${v.variant}" ×${v.count} for "${v.canonical}" (${v.castName})`);
  return row("names", scene, false, listed(shown, "name variants"));
}

function lintRow(scene: number, text: string): CheckResult {
  const { density } = lintProse(text);
  const ok = density < LINT_THRESHOLD;
  const detail = `lint density ${density.toFixed(1)} per 1,000 words (threshold ${LINT_THRESHOLD})`;
  return row("lint", scene, ok, detail);
}

/**
 * Each cue that names a known motif must see that motif in the text. Cues naming no motif ("a storm
 * gathers") cannot be checked and are ignored; two cues for the same motif are checked once.
 */
function motifsRow(scene: number, text: string, cues: string[], motifs: string[]): CheckResult {
  const planned = new Set(cues.map((cue) => motifForCue(cue, motifs)).filter((m) => m !== undefined));
  if (planned.size === 0) return row("motifs", scene, true, "no planned motifs");
  const missing = [...planned].filter((motif) => !motifPresent(text, motif));
  if (missing.length === 0)
    return row("motifs", scene, true, `planned motifs present: ${[...planned].join(", ")}`);
  return row(
    "motifs",
    scene,
    false,
    listed(
      missing.map((m) => `"${m}"`),
      "missing planned motifs",
    ),
  );
}

/** "label: a; b; c" with anything beyond MAX_LISTED summarised as "and N more". */
function listed(items: string[], label: string): string {
  const shown = items.slice(0, MAX_LISTED).join("; ");
  const more = items.length > MAX_LISTED ? `; and ${items.length - MAX_LISTED} more` : "";
  return `${label}: ${shown}${more}`;
}

/**
 * Repeated paragraphs, keyed by a normalised copy of the paragraph in one hash map: a single pass over
 * the book, whatever its length. The later occurrence is the one reported, naming the scene that had
 * it first, since that is the scene a repair should rewrite. Returns scene number → detail.
 */
function findRepeatedParagraphs(scenes: { number: number; text: string }[]): Map<number, string> {
  const firstSeen = new Map<string, number>();
  const found = new Map<number, string[]>();
  for (const scene of scenes) {
    for (const paragraph of splitParagraphs(scene.text)) {
      if (countWords(paragraph) < MIN_REPEAT_WORDS) continue;
      const key = normaliseParagraph(paragraph);
      const first = firstSeen.get(key);
      if (first === undefined) {
        firstSeen.set(key, scene.number);
        continue;
      }
      const where = first === scene.number ? "repeated within this scene" : `also in scene ${first}`;
      const entry = `${where}: "${truncateWords(paragraph.replace(/\s+/g, " "), 8)}"`;
      found.set(scene.number, [...(found.get(scene.number) ?? []), entry]);
    }
  }
  return new Map([...found].map(([scene, entries]) => [scene, listed(entries, "repeated paragraph")]));
}

/** Case, whitespace and quote style do not make a copied paragraph different. */
function normaliseParagraph(paragraph: string): string {
  return paragraph.toLowerCase().replace(/[‘’]/g, "'").replace(/[“”]/g, '"').replace(/\s+/g, " ").trim();
}

function summarise(
  results: CheckResult[],
  book: ValidationResult["book"],
  repetition: RepetitionReport,
): ValidationResult {
  const failing = new Map<number, CheckId[]>();
  const fail = (scene: number, check: CheckId) => {
    const checks = failing.get(scene) ?? [];
    if (!checks.includes(check)) failing.set(scene, [...checks, check]);
  };
  for (const result of results) {
    if (result.ok || result.scene === null) continue;
    fail(result.scene, result.check);
  }
  const repetitionNotes = notesByScene(repetition);
  for (const [scene, notes] of [...repetitionNotes].sort((a, b) => a[0] - b[0])) {
    for (const { check } of notes) fail(scene, check);
  }
  const failed = results.filter((r) => !r.ok).length;
  return { results, failing, book, passed: results.length - failed, failed, repetition, repetitionNotes };
}

/** Every failing row of one scene, then what the repetition checks found in it: the brief of its repair. */
export function findingsFor(result: ValidationResult, scene: number): string[] {
  const rows = result.results.filter((r) => r.scene === scene && !r.ok).map((r) => r.detail);
  return [...rows, ...(result.repetitionNotes.get(scene) ?? []).map((n) => n.note)];
}

// ---------------------------------------------------------------------------------------------------
// repetition across the book

/** A sentence quoted in a detail: at most a dozen words. */
function quoted(sentence: string): string {
  return `"${truncateWords(sentence, 12)}"`;
}

function sceneNumbers(scenes: number[]): string {
  const shown = scenes.slice(0, 8).join(", ");
  return scenes.length > 8 ? `${shown} and ${scenes.length - 8} more` : shown;
}

function alikeDetail(groups: AlikeGroup[], verb: "open" | "close"): string {
  return listed(
    groups.map((g) => `scenes ${sceneNumbers(g.scenes)} ${verb} alike, e.g. ${quoted(g.sentences[0]!)}`),
    `${groups.length === 1 ? "one group" : `${groups.length} groups`} of scenes that ${verb} alike`,
  );
}

/** Four book rows: openings, closings, repeated phrases, characters' repeated gestures. */
function repetitionRows(r: RepetitionReport): CheckResult[] {
  return [
    r.openings.length === 0
      ? row("openings", null, true, `no two of ${fmt(r.scenes)} scenes open alike`)
      : row("openings", null, false, alikeDetail(r.openings, "open")),
    r.closings.length === 0
      ? row("closings", null, true, `no two of ${fmt(r.scenes)} scenes close alike`)
      : row("closings", null, false, alikeDetail(r.closings, "close")),
    r.phrases.length === 0
      ? row(
          "repeated_phrases",
          null,
          true,
          `no phrase of 4+ words more than ${fmt(r.allowed.phrase)} times in ${fmt(r.words)} words`,
        )
      : row(
          "repeated_phrases",
          null,
          false,
          listed(
            r.phrases.map((p) => `"${p.phrase}" ×${fmt(p.count)} in scenes ${sceneNumbers(p.scenes)}`),
            `phrases repeated more than ${fmt(r.allowed.phrase)} times in ${fmt(r.words)} words`,
          ),
        ),
    r.tics.length === 0
      ? row(
          "tics",
          null,
          true,
          `no character repeats a gesture in more than ${fmt(r.allowed.ticScenes)} scenes`,
        )
      : row(
          "tics",
          null,
          false,
          listed(
            r.tics.map(
              (t) => `${t.character}: "${t.gesture}" ×${fmt(t.count)} in scenes ${sceneNumbers(t.scenes)}`,
            ),
            `gestures a character repeats in more than ${fmt(r.allowed.ticScenes)} scenes`,
          ),
        ),
  ];
}

/**
 * The scenes a repair should change, with what to change in each: every scene of a group but the first
 * (the first keeps its opening or closing), and every scene a repeated phrase or gesture recurs in
 * after the first. Each note quotes the words concerned, so the rewrite can change those and nothing
 * else.
 */
function notesByScene(r: RepetitionReport): Map<number, { check: CheckId; note: string }[]> {
  const notes = new Map<number, { check: CheckId; note: string }[]>();
  const add = (scene: number, check: CheckId, note: string) => {
    notes.set(scene, [...(notes.get(scene) ?? []), { check, note }]);
  };
  const groups = (list: AlikeGroup[], check: CheckId, which: string) => {
    for (const group of list) {
      const [first, ...later] = group.scenes;
      later.forEach((scene, i) => {
        const own = `"${group.sentences[i + 1]}"`;
        add(
          scene,
          check,
          `its ${which} sentence ${own} is nearly the same as scene ${first}'s: "${group.sentences[0]}"`,
        );
      });
    }
  };
  groups(r.openings, "openings", "first");
  groups(r.closings, "closings", "last");
  for (const p of r.phrases) {
    for (const scene of p.scenes.slice(1)) {
      add(
        scene,
        "repeated_phrases",
        `the phrase "${p.phrase}" recurs across the book (${p.count} times in ${p.scenes.length} scenes)`,
      );
    }
  }
  for (const t of r.tics) {
    for (const scene of t.scenes.slice(1)) {
      add(
        scene,
        "tics",
        `${t.character}'s gesture "${t.gesture}" recurs across the book (in ${t.scenes.length} scenes)`,
      );
    }
  }
  return notes;
}
