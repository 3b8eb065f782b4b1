// Over 300 lines: every validation check and the report's sections, built from the fixture prose generator.
import { describe, expect, it } from "vitest";
import { type ReportInput, renderReport } from "../src/export/report";
import {
  type CheckId,
  type ValidationResult,
  type ValidationScene,
  validateManuscript,
  WORD_TOLERANCE,
} from "../src/text/manuscript-checks";
import { motifForCue, motifPresent, stem } from "../src/text/motifs";
import { countWords } from "../src/text/words";
import { prose } from "./helpers/fixture-prose";

// ---------------------------------------------------------------------------------------------------
// Fixture prose comes from tests/helpers/fixture-prose.ts: plain, varied, lint-clean sentences that name
// the cast below and avoid the motif words, so a motif is present only where a test puts it.

const CAST = ["Mara Quill", "Tobias Fenn"];
const MOTIFS = ["the brass compass", "a red thread", "salt on the tongue"];

const COMPASS_PARAGRAPH =
  "Mara turned the brass compass over in her palm and watched the needle swing away from the harbour.";
const THREAD_PARAGRAPH = "She found the letters tied with a red thread at the bottom of the drawer.";
const SHARED_PARAGRAPH =
  "The tide had turned an hour ago, and the boats along the quay were already leaning on their ropes.";
const SHORT_LINE = '"Not yet," she said.';

function scene(number: number, text: string | null, extra: Partial<ValidationScene> = {}): ValidationScene {
  const targetWords = text ? countWords(text) : 300;
  return {
    number,
    chapter: Math.ceil(number / 2),
    title: `Scene ${number}`,
    text,
    targetWords,
    motifCues: [],
    ...extra,
  };
}

/** Four clean scenes with planned motifs, a shared short dialogue line, targets met exactly. */
function cleanBook(): ValidationScene[] {
  return [
    scene(1, `${prose(1, 300)}\n\n${COMPASS_PARAGRAPH}\n\n${SHORT_LINE}`, {
      motifCues: ["The brass compass spins when Mara lies"],
    }),
    scene(2, `${SHORT_LINE}\n\n${prose(2, 300)}`),
    scene(3, `${prose(3, 300)}\n\n${THREAD_PARAGRAPH}`, {
      motifCues: ["A red thread ties the letters together", "The weather turns"],
    }),
    scene(4, `${prose(4, 300)}\n\n${SHARED_PARAGRAPH}`),
  ];
}

/** Five outlined scenes, one missing, each of the others broken in known ways. */
function brokenBook(): ValidationScene[] {
  const short = `${prose(13, 150)}\n\nMarra pulled the door shut behind her.`;
  const ending = `${prose(15, 300)}\n\nShe reached for the lamp and then`;
  return [
    scene(1, `${prose(11, 300)}\n\n${SHARED_PARAGRAPH}\n\n${COMPASS_PARAGRAPH}`, {
      motifCues: ["The brass compass spins when Mara lies"],
    }),
    scene(2, null),
    scene(3, short, { targetWords: countWords(short) * 2 }),
    scene(4, `Here is the revised scene:\n\n${prose(14, 300)}\n\n${SHARED_PARAGRAPH.toUpperCase()}`),
    scene(5, ending, { motifCues: ["A red thread ties the letters together"] }),
  ];
}

const validate = (scenes: ValidationScene[]) =>
  validateManuscript({
    scenes,
    bookTargetWords: scenes.reduce((sum, s) => sum + s.targetWords, 0),
    cast: CAST,
    motifs: MOTIFS,
  });

const rowFor = (v: ValidationResult, check: CheckId, sceneNumber: number | null) =>
  v.results.find((r) => r.check === check && r.scene === sceneNumber);

// ---------------------------------------------------------------------------------------------------

describe("motifPresent", () => {
  it("matches the head noun through plurals, possessives and case", () => {
    expect(motifPresent("She kept three compasses in a drawer.", "the brass compass")).toBe(true);
    expect(motifPresent("The COMPASS'S needle shivered.", "the brass compass")).toBe(true);
    expect(motifPresent("Her threads had come loose.", "a red thread")).toBe(true);
    expect(motifPresent("The gate was shut.", "the brass compass")).toBe(false);
  });

  it("matches whole words only", () => {
    expect(motifPresent("Her heart was full.", "art")).toBe(false);
    expect(motifPresent("The art of waiting.", "art")).toBe(true);
    expect(motifPresent("She threaded the needle.", "a red thread")).toBe(true);
    expect(motifPresent("The threadbare coat hung there.", "a red thread")).toBe(false);
  });

  it("accepts half of a multi-word motif's content words within one paragraph", () => {
    const motif = "the cracked brass pocket compass";
    expect(motifPresent("A brass pocket knife lay there.", motif)).toBe(true);
    expect(motifPresent("A brass knife lay there.\n\nShe had a pocket.", motif)).toBe(false);
    expect(motifPresent("Salt stung.", "salt on the tongue")).toBe(true);
  });

  it("finds nothing for a motif made only of stopwords", () => {
    expect(motifPresent("It was there.", "it")).toBe(false);
  });

  it("stems both sides alike", () => {
    expect(stem("compasses")).toBe(stem("compass"));
    expect(stem("spinning")).toBe(stem("spins"));
    expect(stem("Mara's")).toBe("mara");
    expect(stem("string")).toBe("string");
  });
});

describe("motifForCue", () => {
  it("returns the motif the cue mentions", () => {
    expect(motifForCue("The brass compass spins when Mara lies", MOTIFS)).toBe("the brass compass");
    expect(motifForCue("Red threads tie the letters", MOTIFS)).toBe("a red thread");
    expect(motifForCue("She tastes salt after the lie", MOTIFS)).toBe("salt on the tongue");
  });

  it("prefers the motif with the most shared words, and returns undefined when none is shared", () => {
    expect(motifForCue("a brass bell beside the compass", ["a brass bell", "the brass compass"])).toBe(
      "a brass bell",
    );
    expect(motifForCue("brass compass", ["a brass bell", "the brass compass"])).toBe("the brass compass");
    // Equal overlap: the motif whose head noun the cue names wins.
    expect(motifForCue("the brass key", ["a brass bell", "the iron key"])).toBe("the iron key");
    expect(motifForCue("A storm gathers over the bay", MOTIFS)).toBeUndefined();
  });
});

describe("validateManuscript", () => {
  it("passes a clean book on every check", () => {
    const v = validate(cleanBook());
    const failures = v.results.filter((r) => !r.ok);
    expect(failures).toEqual([]);
    expect(v.failed).toBe(0);
    expect(v.failing.size).toBe(0);
    // 8 checks for each of 4 scenes, plus the book's length and its four repetition checks.
    expect(v.results).toHaveLength(4 * 8 + 1 + 4);
    expect(v.passed).toBe(v.results.length);
    expect(v.book.ok).toBe(true);
    expect(rowFor(v, "motifs", 1)?.detail).toContain("the brass compass");
    expect(rowFor(v, "motifs", 3)?.detail).toContain("a red thread");
  });

  it("detects each defect on the right scene with the right check", () => {
    const v = validate(brokenBook());
    expect(Object.fromEntries(v.failing)).toEqual({
      2: ["present"],
      3: ["length", "names"],
      4: ["meta", "repeated_paragraph"],
      5: ["ending", "motifs"],
    });
    expect(v.failed).toBe(8);
    expect(v.passed + v.failed).toBe(v.results.length);
  });

  it("gives the missing scene one row and skips its other checks", () => {
    const v = validate(brokenBook());
    const rows = v.results.filter((r) => r.scene === 2);
    expect(rows).toEqual([{ check: "present", scene: 2, ok: false, detail: 'scene 2 "Scene 2" is missing' }]);
  });

  it("explains each failure in a short sentence", () => {
    const v = validate(brokenBook());
    expect(rowFor(v, "length", 3)?.detail).toMatch(/^[\d,]+ words, target [\d,]+ \(−50%\)$/);
    expect(rowFor(v, "names", 3)?.detail).toContain('"Marra" ×1 for "Mara" (Mara Quill)');
    expect(rowFor(v, "meta", 4)?.detail).toContain("Here is the revised scene");
    expect(rowFor(v, "repeated_paragraph", 4)?.detail).toContain("also in scene 1");
    expect(rowFor(v, "repeated_paragraph", 1)?.ok).toBe(true);
    expect(rowFor(v, "ending", 5)?.detail).toBe('ends mid-sentence: "…reached for the lamp and then"');
    expect(rowFor(v, "motifs", 5)?.detail).toBe('missing planned motifs: "a red thread"');
    expect(rowFor(v, "motifs", 1)?.ok).toBe(true);
  });

  it("checks the book's length against its target within the tolerance", () => {
    const v = validate(brokenBook());
    const book = rowFor(v, "length", null);
    expect(book?.ok).toBe(false);
    expect(book?.detail).toMatch(/^book: [\d,]+ words, target [\d,]+ \(−\d+%\)$/);
    expect(v.book.ok).toBe(false);
    expect(v.book.words).toBe(brokenBook().reduce((sum, s) => sum + (s.text ? countWords(s.text) : 0), 0));

    const scenes = cleanBook();
    const target = scenes.reduce((sum, s) => sum + s.targetWords, 0);
    const justInside = validateManuscript({
      scenes,
      bookTargetWords: Math.ceil(target / (1 + WORD_TOLERANCE)),
      cast: CAST,
      motifs: MOTIFS,
    });
    expect(justInside.book.ok).toBe(true);
    const outside = validateManuscript({ scenes, bookTargetWords: target * 2, cast: CAST, motifs: MOTIFS });
    expect(outside.book.ok).toBe(false);
    expect(outside.failing.size).toBe(0);
  });

  it("flags a paragraph repeated inside one scene", () => {
    const text = `${prose(21, 200)}\n\n${SHARED_PARAGRAPH}\n\n${prose(22, 100)}\n\n${SHARED_PARAGRAPH}`;
    const v = validate([scene(1, text)]);
    expect(rowFor(v, "repeated_paragraph", 1)?.detail).toContain("repeated within this scene");
  });

  it("validates a 120,000-word book", () => {
    const scenes = Array.from({ length: 40 }, (_, i) => scene(i + 1, prose(1000 + i, 3000)));
    const words = scenes.reduce((sum, s) => sum + s.targetWords, 0);
    expect(words).toBeGreaterThanOrEqual(120_000);
    const started = performance.now();
    const v = validate(scenes);
    const elapsed = performance.now() - started;
    expect(v.results).toHaveLength(40 * 8 + 1 + 4);
    expect(v.book.words).toBe(words);
    expect(elapsed).toBeLessThan(20_000);
  });
});

// ---------------------------------------------------------------------------------------------------

function reportInput(validation: ValidationResult, overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    title: "The Salt Road",
    author: "A. N. Author",
    generatedAt: new Date("2025-03-04T05:06:07Z"),
    partial: true,
    missingScenes: [2],
    targetWords: 1500,
    chapters: [
      { number: 1, title: "Salt | Iron", words: 612, targetWords: 600, scenes: 2 },
      { number: 2, title: "The Quay", words: 1234, targetWords: 1000, scenes: 2 },
      { number: 3, title: "Low\nTide", words: 250, targetWords: 300, scenes: 1 },
    ],
    validation,
    continuity: {
      found: [
        { scene: 4, problem: "Mara's eyes are grey here but green in scene 1" },
        { scene: null, problem: "The ferry runs daily, then weekly" },
      ],
      fixed: [{ scene: 4, problem: "Mara's eyes are grey here but green in scene 1" }],
    },
    motifs: [
      { motif: "the brass compass", planned: [1, 4], present: [1, 3] },
      { motif: "a red thread", planned: [5], present: [] },
    ],
    lint: { before: 8.25, after: 3.1, scenesRewritten: [4, 1] },
    rejections: [{ stage: "refine", count: 3, reasons: { "too short": 2, "meta-text": 1 } }],
    usage: [
      {
        stage: "draft",
        calls: 50,
        promptTokens: 1_200_000,
        cachedTokens: 900_000,
        completionTokens: 150_000,
        costUsd: 1.5,
      },
      {
        stage: "refine",
        calls: 100,
        promptTokens: 800_000,
        cachedTokens: 100_000,
        completionTokens: 160_000,
        costUsd: 2.26,
      },
    ],
    ...overrides,
  };
}

describe("renderReport", () => {
  const broken = renderReport(reportInput(validate(brokenBook())));

  it("has every section, in order", () => {
    const headings = [
      "# Manuscript report: The Salt Road",
      "## Summary",
      "## Words per chapter",
      "## Validation",
      "## Repetition",
      "## Continuity",
      "## Motif map",
      "## Machine-prose lint",
      "## Guard rejections",
      "## Tokens and cost per stage",
    ];
    const positions = headings.map((h) => broken.indexOf(`${h}\n`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(broken).toContain("by A. N. Author · generated 2025-03-04 05:06 UTC");
  });

  it("names the missing scenes when partial", () => {
    expect(broken).toContain("> **Partial manuscript**: scene 2 not yet written");
    const complete = renderReport(reportInput(validate(cleanBook()), { partial: false, missingScenes: [] }));
    expect(complete).not.toContain("Partial manuscript");
  });

  it("summarises words, scenes, checks, tokens and cost", () => {
    expect(broken).toMatch(/- Words: [\d,]+ of 1,500 target \(−\d+%\)/);
    expect(broken).toContain("- Chapters: 3 · Scenes: 5 (1 missing)");
    expect(broken).toContain("- Checks: 30 passed, 8 failed");
    expect(broken).toContain(
      "- Tokens: 2,310,000 (2,000,000 prompt, of which 1,000,000 cached; 310,000 completion)",
    );
    expect(broken).toContain("Cost: $3.76");
  });

  it("tables words per chapter with deviations and a total, escaping cells", () => {
    expect(broken).toContain("| 1 | Salt \\| Iron | 2 | 612 | 600 | +2% |");
    expect(broken).toContain("| 2 | The Quay | 2 | 1,234 | 1,000 | +23% |");
    expect(broken).toContain("| 3 | Low Tide | 1 | 250 | 300 | −17% |");
    expect(broken).toContain("| **Total** |  | 5 | 2,096 | 1,900 | +10% |");
  });

  it("lists the failing checks and counts per check", () => {
    expect(broken).toContain("8 checks failed:");
    expect(broken).toContain('| present | 2 | scene 2 "Scene 2" is missing |');
    expect(broken).toMatch(/\| names \| 3 \| name variants: "Marra" ×1 for "Mara" \(Mara Quill\) \|/);
    expect(broken).toMatch(/\| length \| book \| book: [\d,]+ words/);
    expect(broken).toContain("| present | 4 | 1 |");
    expect(broken).toContain("| motifs | 3 | 1 |");
    const clean = renderReport(reportInput(validate(cleanBook())));
    expect(clean).toContain("All 37 checks passed.");
  });

  it("reports continuity, motifs, lint, rejections and usage", () => {
    expect(broken).toContain("### Issues found (2)");
    expect(broken).toContain("| book | The ferry runs daily, then weekly |");
    expect(broken).toContain("### Issues fixed (1)");
    expect(broken).toContain("| the brass compass | 1, 4 | 1, 3 | 4 |");
    expect(broken).toContain("| a red thread | 5 | — | 5 |");
    expect(broken).toContain("- Density per 1,000 words: 8.3 → 3.1 (threshold 6)");
    expect(broken).toContain("- Scenes rewritten (2): 1, 4");
    expect(broken).toContain("| refine | 3 | too short ×2, meta-text ×1 |");
    expect(broken).toContain("| draft | 50 | 1,200,000 | 900,000 | 150,000 | $1.50 |");
    expect(broken).toContain("| **Total** | 150 | 2,000,000 | 1,000,000 | 310,000 | $3.76 |");
  });

  it("says so when there is nothing to report", () => {
    const quiet = renderReport(
      reportInput(validate(cleanBook()), {
        continuity: { found: [], fixed: [] },
        motifs: [],
        rejections: [],
        lint: { before: 2, after: 2, scenesRewritten: [] },
      }),
    );
    expect(quiet).toContain("No contradictions found.");
    expect(quiet).toContain("No motifs planned.");
    expect(quiet).toContain("No rewrites were rejected.");
    expect(quiet).toContain("- Scenes rewritten: none");
  });
});
