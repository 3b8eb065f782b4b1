/**
 * Over 300 lines: one renderer per section of the report, from the summary to the cost per stage, and the
 * table and list helpers they share.
 *
 * The manuscript report (SPEC §8): what was checked, what was fixed and what the book cost, as Markdown.
 *
 * It is the author's answer to "can I trust this manuscript?", so failures come first in each section
 * and nothing that still fails is left out. Pure: all numbers arrive in `ReportInput`.
 */

import { thousands } from "../text/format";
import { LINT_THRESHOLD } from "../text/lint";
import { type CheckId, formatDeviation, type ValidationResult } from "../text/manuscript-checks";
import type { AlikeGroup, RepetitionReport } from "../text/repetition";

export interface ReportInput {
  title: string;
  /** The book's shape, drawn beside the report: its file name and what it shows. */
  picture?: { name: string; description: string };
  author: string;
  generatedAt: Date;
  partial: boolean;
  missingScenes: number[];
  targetWords: number;
  chapters: { number: number; title: string; words: number; targetWords: number; scenes: number }[];
  validation: ValidationResult;
  continuity: {
    found: { scene: number | null; problem: string }[];
    fixed: { scene: number; problem: string }[];
  };
  motifs: { motif: string; planned: number[]; present: number[] }[];
  /** Densities in weighted hits per 1000 words, whole book. */
  lint: { before: number; after: number; scenesRewritten: number[] };
  /** Self-refinement's rubric, each criterion's mean over the scenes before and after it; none before it ran. */
  rubric?: {
    criteria: { criterion: string; before: number; after: number }[];
    rewritten: number[];
    scored: number;
  };
  rejections: { stage: string; count: number; reasons: Record<string, number> }[];
  /**
   * The author's chapter notes, each with what revision did to the chapter's scenes: self-refinement's
   * outcome (and the guard's reason when it kept the scene), and the later steps whose rewrites were kept.
   */
  notes?: {
    chapter: number;
    title: string | null;
    text: string;
    scenes: { number: number; refine: string | null; reason: string | null; rewrittenBy: string[] }[];
  }[];
  usage: {
    stage: string;
    calls: number;
    promptTokens: number;
    cachedTokens: number;
    completionTokens: number;
    costUsd: number;
  }[];
}

type Usage = ReportInput["usage"][number];

/** Order of the validation summary table, matching the order the checks run in. */
const CHECK_ORDER: CheckId[] = [
  "present",
  "length",
  "meta",
  "ending",
  "repeated_paragraph",
  "names",
  "lint",
  "motifs",
  "openings",
  "closings",
  "repeated_phrases",
  "tics",
];

function rubricSection(rubric: NonNullable<ReportInput["rubric"]>): string {
  const score = (n: number) => n.toFixed(1);
  const rows = rubric.criteria.map((c) => [c.criterion, score(c.before), score(c.after)]);
  return [
    "## Rubric (self-refinement)",
    "",
    `Each scene scored 1–5 per criterion; the means over ${num(rubric.scored)} scenes, before and after.`,
    "",
    table(["Criterion", "Before", "After"], ["l", "r", "r"], rows),
    "",
    rubric.rewritten.length === 0
      ? "- Scenes under the bar, rewritten: none"
      : `- Scenes under the bar, rewritten (${num(rubric.rewritten.length)}): ${sceneList(rubric.rewritten)}`,
  ].join("\n");
}

export function renderReport(r: ReportInput): string {
  const sections = [
    header(r),
    summary(r),
    wordsPerChapter(r),
    validation(r.validation),
    repetition(r.validation.repetition),
    continuity(r.continuity),
    motifMap(r.motifs),
    lintSection(r.lint),
    ...(r.rubric ? [rubricSection(r.rubric)] : []),
    rejections(r.rejections),
    ...(r.notes && r.notes.length > 0 ? [notesSection(r.notes)] : []),
    usage(r.usage),
  ];
  return `${sections.join("\n\n")}\n`;
}

// ---------------------------------------------------------------------------------------------------
// formatting

const num = thousands;
const usd = (n: number) =>
  `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const density = (n: number) => n.toFixed(1);

/** One line of text: newlines would end a table row or a heading, and `<` would read as HTML. */
function inline(text: string): string {
  return text.replace(/\s+/g, " ").trim().replace(/</g, "\\<");
}

/** A table cell: one line, with backslashes and pipes escaped so they cannot split the cell. */
function cell(value: string | number): string {
  if (typeof value === "number") return num(value);
  return inline(value.replace(/\\/g, "\\\\")).replace(/\|/g, "\\|");
}

function table(head: string[], align: ("l" | "r")[], rows: (string | number)[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rule = align.map((a) => (a === "r" ? "---:" : "---"));
  return [line(head), line(rule), ...rows.map((cells) => line(cells.map(cell)))].join("\n");
}

/** "3, 7, 12" or "—"; long lists stay short enough to read. */
function sceneList(scenes: number[]): string {
  return scenes.length === 0 ? "—" : [...scenes].sort((a, b) => a - b).join(", ");
}

const plural = (n: number, word: string) => `${num(n)} ${word}${n === 1 ? "" : "s"}`;

// ---------------------------------------------------------------------------------------------------
// sections

function header(r: ReportInput): string {
  const date = `${r.generatedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const lines = [`# Manuscript report: ${inline(r.title)}`, "", `by ${inline(r.author)} · generated ${date}`];
  if (r.partial || r.missingScenes.length > 0) lines.push("", partialNotice(r.missingScenes));
  if (r.picture)
    lines.push("", `![${inline(r.picture.description).replace(/[[\]]/g, "")}](${encodeURI(r.picture.name)})`);
  return lines.join("\n");
}

function partialNotice(missing: number[]): string {
  if (missing.length === 0) return "> **Partial manuscript**: some scenes are not yet written.";
  const noun = missing.length === 1 ? "scene" : "scenes";
  return `> **Partial manuscript**: ${noun} ${sceneList(missing)} not yet written; this report covers the rest.`;
}

function summary(r: ReportInput): string {
  const { words } = r.validation.book;
  const scenes = r.chapters.reduce((sum, c) => sum + c.scenes, 0);
  const missing = r.missingScenes.length > 0 ? ` (${num(r.missingScenes.length)} missing)` : "";
  const total = totals(r.usage);
  const tokens = total.promptTokens + total.completionTokens;
  return [
    "## Summary",
    "",
    `- Words: ${num(words)} of ${num(r.targetWords)} target (${formatDeviation(words, r.targetWords)})`,
    `- Chapters: ${num(r.chapters.length)} · Scenes: ${num(scenes)}${missing}`,
    `- Checks: ${num(r.validation.passed)} passed, ${num(r.validation.failed)} failed`,
    `- Tokens: ${num(tokens)} (${num(total.promptTokens)} prompt, of which ${num(total.cachedTokens)} cached; ` +
      `${num(total.completionTokens)} completion) · Cost: ${usd(total.costUsd)}`,
  ].join("\n");
}

function wordsPerChapter(r: ReportInput): string {
  const rows = r.chapters.map((c) => [
    c.number,
    c.title,
    c.scenes,
    c.words,
    c.targetWords,
    formatDeviation(c.words, c.targetWords),
  ]);
  const words = r.chapters.reduce((sum, c) => sum + c.words, 0);
  const target = r.chapters.reduce((sum, c) => sum + c.targetWords, 0);
  const scenes = r.chapters.reduce((sum, c) => sum + c.scenes, 0);
  rows.push(["**Total**", "", scenes, words, target, formatDeviation(words, target)]);
  const head = ["Chapter", "Title", "Scenes", "Words", "Target", "Deviation"];
  return ["## Words per chapter", "", table(head, ["r", "l", "r", "r", "r", "r"], rows)].join("\n");
}

function validation(v: ValidationResult): string {
  const failed = v.results.filter((result) => !result.ok);
  const lines = ["## Validation", ""];
  if (failed.length === 0) lines.push(`All ${num(v.results.length)} checks passed.`);
  else {
    lines.push(`${plural(failed.length, "check")} failed:`, "");
    const rows = failed.map((f) => [f.check, f.scene === null ? "book" : String(f.scene), f.detail]);
    lines.push(table(["Check", "Scene", "Detail"], ["l", "r", "l"], rows));
  }
  lines.push("", table(["Check", "Passed", "Failed"], ["l", "r", "r"], checkCounts(v)));
  return lines.join("\n");
}

/** Passed and failed counts per check id, in the order the checks run. */
function checkCounts(v: ValidationResult): (string | number)[][] {
  const counts = new Map<CheckId, { passed: number; failed: number }>();
  for (const result of v.results) {
    const entry = counts.get(result.check) ?? { passed: 0, failed: 0 };
    if (result.ok) entry.passed++;
    else entry.failed++;
    counts.set(result.check, entry);
  }
  return CHECK_ORDER.filter((id) => counts.has(id)).map((id) => [
    id,
    counts.get(id)!.passed,
    counts.get(id)!.failed,
  ]);
}

/**
 * What the book repeats across scenes: the scenes that open or close alike, with their sentences; the
 * phrases that recur beyond the book's allowance and the gestures a character keeps making, with the
 * scenes they occur in.
 */
function repetition(r: RepetitionReport): string {
  const lines = ["## Repetition", ""];
  const { phrase, ticScenes } = r.allowed;
  if (r.openings.length + r.closings.length + r.phrases.length + r.tics.length === 0) {
    lines.push(
      `No two scenes open or close alike, no phrase of four words or more occurs more than ${num(phrase)} ` +
        `times, and no character repeats a gesture in more than ${plural(ticScenes, "scene")}.`,
    );
    return lines.join("\n");
  }
  const sections = [
    alikeTable("Scenes that open alike", r.openings),
    alikeTable("Scenes that close alike", r.closings),
    [
      `### Phrases repeated across the book (more than ${num(phrase)} times in ${num(r.words)} words)`,
      "",
      r.phrases.length === 0
        ? "None."
        : table(
            ["Phrase", "Times", "Scenes"],
            ["l", "r", "l"],
            r.phrases.map((p) => [`"${p.phrase}"`, p.count, sceneList(p.scenes)]),
          ),
    ].join("\n"),
    [
      `### Gestures a character repeats (in more than ${plural(ticScenes, "scene")})`,
      "",
      r.tics.length === 0
        ? "None."
        : table(
            ["Character", "Gesture", "Times", "Scenes"],
            ["l", "l", "r", "l"],
            r.tics.map((t) => [t.character, `"${t.gesture}"`, t.count, sceneList(t.scenes)]),
          ),
    ].join("\n"),
  ];
  return [...lines, sections.join("\n\n")].join("\n");
}

/** One row per group: its scenes, and each scene's sentence (one quote when they are all the same). */
function alikeTable(title: string, groups: AlikeGroup[]): string {
  const lines = [`### ${title}`, ""];
  if (groups.length === 0) return [...lines, "None."].join("\n");
  const rows = groups.map((g) => {
    const distinct = new Set(g.sentences);
    const sentences =
      distinct.size === 1
        ? `"${g.sentences[0]}"`
        : g.scenes.map((scene, i) => `${scene}: "${g.sentences[i]}"`).join(" · ");
    return [sceneList(g.scenes), sentences];
  });
  return [...lines, table(["Scenes", "Sentences"], ["l", "l"], rows)].join("\n");
}

function continuity(c: ReportInput["continuity"]): string {
  const lines = ["## Continuity", ""];
  if (c.found.length === 0 && c.fixed.length === 0) {
    lines.push("No contradictions found.");
    return lines.join("\n");
  }
  const sceneCell = (scene: number | null) => (scene === null ? "book" : String(scene));
  lines.push(`### Issues found (${num(c.found.length)})`, "");
  if (c.found.length === 0) lines.push("No contradictions found.");
  else
    lines.push(
      table(
        ["Scene", "Problem"],
        ["r", "l"],
        c.found.map((f) => [sceneCell(f.scene), f.problem]),
      ),
    );
  lines.push("", `### Issues fixed (${num(c.fixed.length)})`, "");
  if (c.fixed.length === 0) lines.push("None fixed.");
  else
    lines.push(
      table(
        ["Scene", "Problem"],
        ["r", "l"],
        c.fixed.map((f) => [String(f.scene), f.problem]),
      ),
    );
  return lines.join("\n");
}

function motifMap(motifs: ReportInput["motifs"]): string {
  const lines = ["## Motif map", ""];
  if (motifs.length === 0) return [...lines, "No motifs planned."].join("\n");
  const rows = motifs.map((m) => {
    const present = new Set(m.present);
    const missing = m.planned.filter((scene) => !present.has(scene));
    return [m.motif, sceneList(m.planned), sceneList(m.present), sceneList(missing)];
  });
  lines.push(table(["Motif", "Planned scenes", "Present in", "Missing"], ["l", "l", "l", "l"], rows));
  return lines.join("\n");
}

function lintSection(lint: ReportInput["lint"]): string {
  const rewritten = lint.scenesRewritten;
  return [
    "## Machine-prose lint",
    "",
    `- Density per 1,000 words: ${density(lint.before)} → ${density(lint.after)} (threshold ${LINT_THRESHOLD})`,
    rewritten.length === 0
      ? "- Scenes rewritten: none"
      : `- Scenes rewritten (${num(rewritten.length)}): ${sceneList(rewritten)}`,
  ].join("\n");
}

const REFINE_OUTCOMES: Record<string, string> = {
  revised: "rewritten with the note",
  rejected: "rewrite not kept",
  unchanged: "left as it was",
  declined: "the model declined to revise it",
};

function notesSection(notes: NonNullable<ReportInput["notes"]>): string {
  const lines = ["## Your notes", ""];
  for (const n of notes) {
    lines.push(`### Chapter ${n.chapter}${n.title ? `: ${n.title}` : ""}`, "");
    lines.push(...n.text.split("\n").map((l) => `> ${l}`), "");
    for (const s of n.scenes) {
      const refine = s.refine
        ? `${REFINE_OUTCOMES[s.refine] ?? s.refine}${s.reason ? ` (${s.reason})` : ""}`
        : "not reached by self-refinement";
      const later = s.rewrittenBy.length > 0 ? `; later rewritten by ${s.rewrittenBy.join(", ")}` : "";
      lines.push(`- Scene ${num(s.number)}: ${refine}${later}`);
    }
    lines.push("");
  }
  return lines.join("\n").trimEnd();
}

function rejections(list: ReportInput["rejections"]): string {
  const lines = ["## Guard rejections", ""];
  if (list.length === 0 || list.every((r) => r.count === 0)) {
    return [...lines, "No rewrites were rejected."].join("\n");
  }
  const rows = list.map((r) => [r.stage, r.count, reasonList(r.reasons)]);
  lines.push(table(["Stage", "Rejected", "Reasons"], ["l", "r", "l"], rows));
  return lines.join("\n");
}

/** "too short ×3, meta-text ×1", most frequent first. */
function reasonList(reasons: Record<string, number>): string {
  const entries = Object.entries(reasons).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.map(([reason, count]) => `${reason} ×${num(count)}`).join(", ");
}

function usage(list: Usage[]): string {
  const row = (u: Usage, stage: string) => [
    stage,
    u.calls,
    u.promptTokens,
    u.cachedTokens,
    u.completionTokens,
    usd(u.costUsd),
  ];
  const rows = [...list.map((u) => row(u, u.stage)), row(totals(list), "**Total**")];
  const head = ["Stage", "Calls", "Prompt tokens", "Cached tokens", "Completion tokens", "Cost"];
  return ["## Tokens and cost per stage", "", table(head, ["l", "r", "r", "r", "r", "r"], rows)].join("\n");
}

function totals(list: Usage[]): Usage {
  const total: Usage = {
    stage: "total",
    calls: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    costUsd: 0,
  };
  for (const u of list) {
    total.calls += u.calls;
    total.promptTokens += u.promptTokens;
    total.cachedTokens += u.cachedTokens;
    total.completionTokens += u.completionTokens;
    total.costUsd += u.costUsd;
  }
  return total;
}
