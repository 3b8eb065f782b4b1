// Over 300 lines: the fixtures for each repetition finding and the published-fiction corpus run.
// The book-level repetition checks: scenes that open or close alike, phrases repeated across the book,
// a character's repeated gesture; their rows in validation, the report's Repetition section, the repair
// brief of the scenes concerned, and published novels from ../shared/lint-corpus/ passing them.
import { describe, expect, it } from "vitest";
import { type ReportInput, renderReport } from "../src/export/report";
import {
  type CheckId,
  findingsFor,
  type ValidationResult,
  type ValidationScene,
  validateManuscript,
} from "../src/text/manuscript-checks";
import { findRepetition, firstSentence, lastSentence, similarity } from "../src/text/repetition";
import { countWords, splitParagraphs } from "../src/text/words";
import type { SceneCard } from "../stages/outline";
import { repairInstructions } from "../stages/output-validation";
import { prose } from "./helpers/fixture-prose";
import { corpusAvailable, LINT_CORPUS, readCorpus } from "./helpers/lint-corpus";

const CAST = ["Mara Quill", "Tobias Fenn"];

function scene(number: number, text: string): ValidationScene {
  return {
    number,
    chapter: Math.ceil(number / 2),
    title: `Scene ${number}`,
    text,
    targetWords: countWords(text),
    motifCues: [],
  };
}

/** `count` varied scenes of about `words` words each, each passed through `edit` (scene number, text). */
function book(count: number, words = 600, edit: (n: number, text: string) => string = (_, t) => t) {
  return Array.from({ length: count }, (_, i) => scene(i + 1, edit(i + 1, prose(500 + i, words))));
}

const validate = (scenes: ValidationScene[]) =>
  validateManuscript({
    scenes,
    bookTargetWords: scenes.reduce((sum, s) => sum + s.targetWords, 0),
    cast: CAST,
    motifs: [],
  });

const bookRow = (v: ValidationResult, check: CheckId) =>
  v.results.find((r) => r.check === check && r.scene === null);

function report(validation: ValidationResult): string {
  const input: ReportInput = {
    title: "The Salt Road",
    author: "A. N. Author",
    generatedAt: new Date("2025-03-04T05:06:07Z"),
    partial: false,
    missingScenes: [],
    targetWords: validation.book.target,
    chapters: [],
    validation,
    continuity: { found: [], fixed: [] },
    motifs: [],
    lint: { before: 0, after: 0, scenesRewritten: [] },
    rejections: [],
    usage: [],
  };
  return renderReport(input);
}

/** The report's Repetition section, up to the next section. */
function repetitionSection(markdown: string): string {
  const start = markdown.indexOf("## Repetition\n");
  expect(start).toBeGreaterThanOrEqual(0);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

const SAME_ENDING = "She closed the door behind her and did not look back.";

// ---------------------------------------------------------------------------------------------------

describe("first and last sentences", () => {
  it("takes a scene's first and last sentence, dialogue tags and abbreviations included", () => {
    const text =
      'Mr. Fenn was late. The boats were in.\n\n"Go home!" she said. He went.\n\nIt rained. Nobody came.';
    expect(firstSentence(text)).toBe("Mr. Fenn was late.");
    expect(lastSentence(text)).toBe("Nobody came.");
    expect(lastSentence('It rained.\n\n"Go home!" she said.')).toBe('"Go home!" she said.');
    expect(lastSentence("No ending punctuation at all")).toBe("No ending punctuation at all");
  });

  it("scores near-duplicates by the share of words a word-level edit keeps", () => {
    const words = (s: string) => s.toLowerCase().split(" ");
    expect(similarity(words("she closed the door behind her"), words("she closed the door behind her"))).toBe(
      1,
    );
    expect(
      similarity(words("she closed the door behind her"), words("he closed the door behind her")),
    ).toBeCloseTo(5 / 6);
    expect(
      similarity(words("the rain had stopped"), words("nobody came to the quay that night")),
    ).toBeLessThan(0.3);
  });
});

describe("repetition checks in validation and the report", () => {
  it("fails a book whose scenes all end with the same sentence, and the report names the scenes", () => {
    // The sentence closes each scene's last paragraph: no paragraph is repeated, only the ending.
    const scenes = book(6, 500, (_, text) => `${text} ${SAME_ENDING}`);
    const v = validate(scenes);
    const closings = bookRow(v, "closings");
    expect(closings?.ok).toBe(false);
    expect(closings?.detail).toContain("scenes 1, 2, 3, 4, 5, 6 close alike");
    expect(closings?.detail).toContain(SAME_ENDING.slice(0, 20));
    // The first scene keeps its ending; the other five are the ones to repair, and only for that.
    expect([...v.failing.keys()].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6]);
    for (const n of [2, 3, 4, 5, 6]) expect(v.failing.get(n)).toEqual(["closings"]);
    expect(findingsFor(v, 4)).toEqual([
      `its last sentence "${SAME_ENDING}" is nearly the same as scene 1's: "${SAME_ENDING}"`,
    ]);

    const section = repetitionSection(report(v));
    expect(section).toContain("### Scenes that close alike");
    expect(section).toContain(`| 1, 2, 3, 4, 5, 6 | "${SAME_ENDING}" |`);
    expect(section).toContain("### Scenes that open alike\n\nNone.");
    expect(report(v)).toMatch(
      /\| closings \| book \| one group of scenes that close alike: scenes 1, 2, 3, 4, 5, 6/,
    );
  });

  it("groups scenes whose openings differ by a word or two, and quotes each one", () => {
    const openings = [
      "The rain had stopped by the time she reached the harbour.",
      "The rain had stopped by the time he reached the harbour.",
      "The rain had stopped by the time they reached the old harbour.",
    ];
    const scenes = book(8, 400, (n, text) => (n % 3 === 1 ? `${openings[(n - 1) / 3]}\n\n${text}` : text));
    const v = validate(scenes);
    expect(v.repetition.openings).toEqual([{ scenes: [1, 4, 7], sentences: openings }]);
    expect(bookRow(v, "openings")?.ok).toBe(false);
    expect(bookRow(v, "closings")?.ok).toBe(true);
    expect(v.failing.get(7)).toEqual(["openings"]);
    expect(v.failing.has(1)).toBe(false);
    const section = repetitionSection(report(v));
    expect(section).toContain(
      `| 1, 4, 7 | 1: "${openings[0]}" · 4: "${openings[1]}" · 7: "${openings[2]}" |`,
    );
  });

  it("flags a phrase repeated in many scenes, grown to the words its uses share, with its scenes", () => {
    const lines = [
      "Mara walked home under the cold blue light of the lamps.",
      "Tobias Fenn stood for a while in the cold blue light of the lamps and said nothing.",
      "Nobody spoke in the cold blue light of the lamps.",
    ];
    const inScenes = [1, 2, 4, 5, 7, 8, 10, 11];
    const scenes = book(12, 700, (n, text) => {
      if (!inScenes.includes(n)) return text;
      const [first, ...rest] = splitParagraphs(text);
      return [`${first} ${lines[inScenes.indexOf(n) % 3]}`, ...rest].join("\n\n");
    });
    const v = validate(scenes);
    expect(v.repetition.phrases).toEqual([
      { phrase: "the cold blue light of the lamps", count: 8, scenes: inScenes },
    ]);
    const row = bookRow(v, "repeated_phrases");
    expect(row?.ok).toBe(false);
    expect(row?.detail).toContain('"the cold blue light of the lamps" ×8 in scenes 1, 2, 4, 5, 7, 8, 10, 11');
    // Every scene but the first that uses it is asked to reword it, and no other scene is touched.
    expect([...v.failing.keys()].sort((a, b) => a - b)).toEqual(inScenes.slice(1));
    expect(findingsFor(v, 5)).toEqual([
      'the phrase "the cold blue light of the lamps" recurs across the book (8 times in 8 scenes)',
    ]);
    const section = repetitionSection(report(v));
    expect(section).toContain('| "the cold blue light of the lamps" | 8 | 1, 2, 4, 5, 7, 8, 10, 11 |');
  });

  it("does not count phrases made of function words, names or speech", () => {
    const speech = '"I do not think it makes any difference," she said.';
    const narration = "Mara Quill looked at Tobias Fenn and he looked back at her.";
    const scenes = book(10, 400, (_, text) => `${text}\n\n${speech} ${narration}`);
    const v = validate(scenes);
    expect(v.repetition.phrases).toEqual([]);
    // The same sentence closing every scene is still the same closing.
    expect(v.repetition.closings[0]?.scenes).toHaveLength(10);
  });

  it("flags a gesture one character makes scene after scene, and not one shared between two", () => {
    const tobias = [
      "Tobias rubbed his temples.",
      "Tobias Fenn sat down at last and rubbed his temples slowly.",
      "Across the table Tobias was rubbing his temple again.",
      "Tobias said nothing. He rubbed his temples.",
    ];
    // Mara bites her lip in two scenes and Tobias in two: nobody's tic.
    const lips: Record<number, string> = {
      2: "Mara bit her lip.",
      6: "Mara stopped and bit her lip.",
      8: "Tobias bit his lip.",
      10: "Tobias turned away and bit his lip.",
    };
    const inScenes = [1, 3, 5, 9];
    const scenes = book(10, 500, (n, text) => {
      const extra = [inScenes.includes(n) ? tobias[inScenes.indexOf(n)] : undefined, lips[n]].filter(Boolean);
      const [first, ...rest] = splitParagraphs(text);
      return [first, ...extra, ...rest].join("\n\n");
    });
    const v = validate(scenes);
    expect(v.repetition.tics).toEqual([
      { character: "Tobias Fenn", gesture: "rubbed his temples", count: 4, scenes: inScenes },
    ]);
    const row = bookRow(v, "tics");
    expect(row?.ok).toBe(false);
    expect(row?.detail).toContain('Tobias Fenn: "rubbed his temples" ×4 in scenes 1, 3, 5, 9');
    expect([...v.failing.keys()].sort((a, b) => a - b)).toEqual([3, 5, 9]);
    expect(findingsFor(v, 9)).toEqual([
      'Tobias Fenn\'s gesture "rubbed his temples" recurs across the book (in 4 scenes)',
    ]);
    const section = repetitionSection(report(v));
    expect(section).toContain('| Tobias Fenn | "rubbed his temples" | 4 | 1, 3, 5, 9 |');
  });

  it("passes a varied book, and the report says what was checked", () => {
    const v = validate(book(24, 800));
    for (const check of ["openings", "closings", "repeated_phrases", "tics"] as const) {
      expect(bookRow(v, check)?.ok, check).toBe(true);
    }
    expect(v.failing.size).toBe(0);
    expect(bookRow(v, "repeated_phrases")?.detail).toMatch(
      /^no phrase of 4\+ words more than 4 times in [\d,]+ words$/,
    );
    expect(repetitionSection(report(v))).toContain(
      "No two scenes open or close alike, no phrase of four words or more occurs more than 4 times, " +
        "and no character repeats a gesture in more than 2 scenes.",
    );
  });

  it("tells the repair what to change in the scene and to leave the rest as it is", () => {
    const card = { targetWords: 500 } as SceneCard;
    const scene = { number: 3, chapter: 2, title: "Scene 3", text: prose(3, 500), card };
    const note = `its last sentence "${SAME_ENDING}" is nearly the same as scene 1's: "${SAME_ENDING}"`;
    const lines = repairInstructions(scene, ["closings"], [note]);
    expect(lines).toEqual([
      "Give the scene a last sentence of its own, unlike the other scene's ending quoted below.",
      "Change only those words and the sentences they sit in; leave every other sentence exactly as it is.",
      `Check failed: ${note}`,
    ]);
    // With a failure that needs the whole scene, the repair is not restricted to the quoted words.
    const both = repairInstructions(scene, ["meta", "repeated_phrases"], []);
    expect(both.some((l) => l.startsWith("Reword each phrase quoted below"))).toBe(true);
    expect(both.some((l) => l.startsWith("Change only those words"))).toBe(false);
  });

  it("checks a 120,000-word book in well under a second", () => {
    const scenes = Array.from({ length: 40 }, (_, i) => ({ number: i + 1, text: prose(2000 + i, 3000) }));
    // The best of three runs, so a busy machine running other tests does not decide the figure.
    const times = [0, 1, 2].map(() => {
      const started = performance.now();
      expect(findRepetition(scenes, CAST).words).toBeGreaterThanOrEqual(120_000);
      return performance.now() - started;
    });
    expect(Math.min(...times)).toBeLessThan(1_000);
  });
});

// ---------------------------------------------------------------------------------------------------

/** Consecutive scenes of at least `size` words on paragraph boundaries; a short tail joins the last. */
function scenesOf(paragraphs: string[], size = 1_200): { number: number; text: string }[] {
  const scenes: string[][] = [];
  let current: string[] = [];
  let words = 0;
  for (const paragraph of paragraphs) {
    current.push(paragraph);
    words += countWords(paragraph);
    if (words >= size) {
      scenes.push(current);
      current = [];
      words = 0;
    }
  }
  if (current.length > 0) {
    if (words < size / 2 && scenes.length > 0) scenes.at(-1)!.push(...current);
    else scenes.push(current);
  }
  return scenes.map((paragraphs, i) => ({ number: i + 1, text: paragraphs.join("\n\n") }));
}

/**
 * A published novel has no cast list: its characters are the words most often capitalised inside a
 * sentence ("Elinor", "Joe", "Gatsby"), a stand-in for the cast Folio knows.
 */
function castOf(text: string): string[] {
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/(?<=[\p{Ll},;]\s+)\p{Lu}\p{Ll}+/gu)) {
    counts.set(match[0], (counts.get(match[0]) ?? 0) + 1);
  }
  return [...counts]
    .filter(([, count]) => count >= 5)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([name]) => name);
}

describe("repetition checks on published fiction", () => {
  it("finds the corpus beside the repository", () => {
    expect(corpusAvailable(), `no fiction corpus at ${LINT_CORPUS}`).toBe(true);
  });

  const documents = corpusAvailable() ? readCorpus() : [];

  it("passes every 5,000-word excerpt of the published novels, cut into 1,200-word scenes", () => {
    const human = documents.filter((d) => d.kind === "human");
    expect(human.length).toBeGreaterThanOrEqual(30);
    for (const document of human) {
      const scenes = scenesOf(document.paragraphs);
      expect(scenes.length, document.label).toBeGreaterThanOrEqual(4);
      const found = findRepetition(scenes, castOf(document.paragraphs.join("\n\n")));
      const { openings, closings, phrases, tics } = found;
      expect({ openings, closings, phrases, tics }, document.label).toEqual({
        openings: [],
        closings: [],
        phrases: [],
        tics: [],
      });
    }
  });

  it("finds repetition in most models' chapters read as one book per model", () => {
    const files = [...new Set(documents.filter((d) => d.kind === "model").map((d) => d.file))];
    const flagged = files.filter((file) => {
      const chapters = documents.filter((d) => d.file === file);
      const scenes = scenesOf(chapters.flatMap((d) => d.paragraphs));
      const found = findRepetition(scenes, castOf(chapters.flatMap((d) => d.paragraphs).join("\n\n")));
      return found.phrases.length + found.tics.length + found.openings.length + found.closings.length > 0;
    });
    expect(files.length).toBeGreaterThanOrEqual(8);
    expect(flagged.length).toBeGreaterThanOrEqual(files.length / 2);
  });
});
