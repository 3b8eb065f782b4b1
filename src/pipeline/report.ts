import { asc, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { chapters, llmCalls, type Project, revisionResults, scenes } from "../../db/schema";
import { AUDIT_KEY, type ContinuityIssue, continuityAudit } from "../../stages/continuity";
import type { SceneCard } from "../../stages/outline";
import { RUBRIC, selfRefinement } from "../../stages/refine";
import { humanizeVoice } from "../../stages/voice";
import { type ReportInput, renderReport } from "../export/report";
import type { ArcInput } from "../pictures/arc";
import { lintProse } from "../text/lint";
import { validateManuscript } from "../text/manuscript-checks";
import { motifForCue, motifPresent } from "../text/motifs";
import { chapterNotesOf } from "./notes";
import { loadPlan, recallOutput } from "./store";

/**
 * The manuscript report for the book as it stands: validation run on the current text, and what the
 * revision stages recorded (continuity, motifs, lint, guard rejections), with tokens and cost per stage;
 * `picture`, the file name of the book's shape drawn beside it (`bookShape`), shown at its top.
 */
export async function buildReport(
  db: Db,
  project: Project,
  author: string,
  picture?: { name: string; description: string },
): Promise<string> {
  return renderReport({ ...(await reportInput(db, project, author)), ...(picture ? { picture } : {}) });
}

/**
 * The book's shape: words per chapter planned and written, and the tension line with the scenes the
 * continuity audit or validation flagged.
 */
export async function bookShape(db: Db, project: Project, input: ReportInput): Promise<ArcInput> {
  const plan = await loadPlan(db, project.id);
  const cards = await db
    .select({ number: scenes.number, chapter: scenes.chapter, card: scenes.card })
    .from(scenes)
    .where(eq(scenes.projectId, project.id))
    .orderBy(asc(scenes.number));
  const flagged = new Set([
    ...input.validation.failing.keys(),
    ...input.continuity.found.flatMap((i) => (i.scene === null ? [] : [i.scene])),
  ]);
  return {
    title: input.title,
    scenes: cards.map((r) => {
      const card = r.card as SceneCard;
      return {
        number: r.number,
        chapter: r.chapter,
        tension: card.tension,
        targetWords: card.targetWords,
        beat: card.beat,
      };
    }),
    chapters: input.chapters.map((c) => ({ number: c.number, title: c.title })),
    beats: plan.beats?.beats.map((b) => ({ name: b.name, position: b.position })) ?? [],
    written: Object.fromEntries(input.chapters.map((c) => [c.number, c.words])),
    flagged: [...flagged].sort((a, b) => a - b),
  };
}

/** What the report says of the book as it stands (`renderReport` writes it out). */
export async function reportInput(db: Db, project: Project, author: string): Promise<ReportInput> {
  const plan = await loadPlan(db, project.id);
  const sceneRows = await db
    .select({
      number: scenes.number,
      chapter: scenes.chapter,
      title: scenes.title,
      text: scenes.text,
      words: scenes.words,
      card: scenes.card,
    })
    .from(scenes)
    .where(eq(scenes.projectId, project.id))
    .orderBy(asc(scenes.number));
  const rows = sceneRows.map((r) => ({ ...r, card: r.card as SceneCard }));
  const cast = plan.characters?.characters.map((c) => c.name) ?? [];
  const motifs = plan.concept?.motifs.map((m) => m.name) ?? [];
  const results = await db.select().from(revisionResults).where(eq(revisionResults.projectId, project.id));
  const missing = rows.filter((r) => !r.text?.trim()).map((r) => r.number);
  return {
    title: project.title ?? plan.concept?.title ?? "Untitled",
    author,
    generatedAt: new Date(),
    partial: rows.length === 0 || missing.length > 0,
    missingScenes: missing,
    targetWords: project.targetWords,
    chapters: await chapterRows(db, project.id, rows),
    validation: validateManuscript({
      scenes: rows.map((r) => ({
        number: r.number,
        chapter: r.chapter,
        title: r.title,
        text: r.text,
        targetWords: r.card.targetWords,
        motifCues: r.card.motifCues,
      })),
      bookTargetWords: project.targetWords,
      cast,
      motifs,
    }),
    continuity: await continuity(db, project.id, results),
    rubric: rubricSummary(results),
    motifs: motifs.map((motif) => ({
      motif,
      planned: rows
        .filter((r) => r.card.motifCues.some((cue) => motifForCue(cue, motifs) === motif))
        .map((r) => r.number),
      present: rows.filter((r) => r.text && motifPresent(r.text, motif)).map((r) => r.number),
    })),
    lint: lintSummary(rows, results),
    rejections: rejections(results),
    notes: (await chapterNotesOf(db, project.id)).map((n) => ({
      chapter: n.chapter,
      title: n.title,
      text: n.text,
      scenes: rows
        .filter((r) => r.chapter === n.chapter)
        .map((r) => {
          const own = results.filter((x) => x.sceneNumber === r.number);
          const refine = own.find((x) => x.step === selfRefinement.id);
          return {
            number: r.number,
            refine: refine?.outcome ?? null,
            reason: refine?.outcome === "revised" ? null : (refine?.reason ?? null),
            rewrittenBy: [
              ...new Set(
                own.filter((x) => x.step !== selfRefinement.id && x.outcome === "revised").map((x) => x.step),
              ),
            ],
          };
        }),
    })),
    usage: await usagePerStage(db, project.id),
  };
}

async function chapterRows(
  db: Db,
  projectId: number,
  rows: { chapter: number; words: number; card: SceneCard }[],
) {
  const chapterList = await db
    .select()
    .from(chapters)
    .where(eq(chapters.projectId, projectId))
    .orderBy(asc(chapters.number));
  return chapterList.map((c) => {
    const members = rows.filter((r) => r.chapter === c.number);
    return {
      number: c.number,
      title: c.title,
      words: members.reduce((n, r) => n + r.words, 0),
      targetWords: members.reduce((n, r) => n + r.card.targetWords, 0),
      scenes: members.length,
    };
  });
}

async function continuity(db: Db, projectId: number, results: (typeof revisionResults.$inferSelect)[]) {
  const audit = await recallOutput<{ issues?: ContinuityIssue[] }>(db, projectId, AUDIT_KEY);
  const found = (audit?.issues ?? []).map((i) => ({
    scene: i.scene,
    problem: i.problem,
  }));
  const fixedScenes = new Set(
    results.filter((r) => r.step === continuityAudit.id && r.outcome === "revised").map((r) => r.sceneNumber),
  );
  return { found, fixed: found.filter((i) => fixedScenes.has(i.scene)) };
}

/** Self-refinement's rubric scores, each criterion's mean before and after; undefined before it ran. */
function rubricSummary(results: (typeof revisionResults.$inferSelect)[]): ReportInput["rubric"] {
  const scored = results.filter((r) => r.step === selfRefinement.id && r.detail?.rubric);
  if (scored.length === 0) return undefined;
  const scores = (r: (typeof scored)[number], key: "rubric" | "rubricAfter") =>
    r.detail?.[key] as Record<string, number> | undefined;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    criteria: Object.keys(RUBRIC).map((criterion) => ({
      criterion,
      before: mean(scored.map((r) => scores(r, "rubric")![criterion] ?? 0)),
      after: mean(
        scored.map((r) => {
          const after = r.outcome === "revised" ? scores(r, "rubricAfter") : undefined;
          return (after ?? scores(r, "rubric")!)[criterion] ?? 0;
        }),
      ),
    })),
    rewritten: scored.filter((r) => r.outcome === "revised").map((r) => r.sceneNumber),
    scored: scored.length,
  };
}

/** Book-wide lint density before stage 10 (as it measured) and now, weighted by scene length. */
function lintSummary(
  rows: { number: number; text: string | null }[],
  results: (typeof revisionResults.$inferSelect)[],
) {
  const voice = results.filter((r) => r.step === humanizeVoice.id);
  const now = rows.filter((r) => r.text).map((r) => lintProse(r.text!));
  const weighted = (pairs: { density: number; words: number }[]) => {
    const words = pairs.reduce((n, p) => n + p.words, 0);
    return words === 0 ? 0 : pairs.reduce((n, p) => n + p.density * p.words, 0) / words;
  };
  const after = weighted(now);
  const before =
    voice.length > 0
      ? weighted(
          voice.map((r) => ({
            density: Number(r.detail?.densityBefore ?? 0),
            words: Number(r.detail?.words ?? 0),
          })),
        )
      : after;
  return {
    before,
    after,
    scenesRewritten: voice.filter((r) => r.outcome === "revised").map((r) => r.sceneNumber),
  };
}

function rejections(results: (typeof revisionResults.$inferSelect)[]) {
  const byStage = new Map<string, Record<string, number>>();
  // A pass the model declined is a rewrite not kept too, with that as its reason.
  for (const r of results.filter((x) => x.outcome === "rejected" || x.outcome === "declined")) {
    const stage = r.step.split(".")[0]!;
    const reasons = byStage.get(stage) ?? {};
    reasons[r.reason ?? "unknown"] = (reasons[r.reason ?? "unknown"] ?? 0) + 1;
    byStage.set(stage, reasons);
  }
  return [...byStage].map(([stage, reasons]) => ({
    stage,
    count: Object.values(reasons).reduce((a, b) => a + b, 0),
    reasons,
  }));
}

function usagePerStage(db: Db, projectId: number) {
  return db
    .select({
      stage: llmCalls.stage,
      calls: sql<number>`count(*)`.mapWith(Number),
      promptTokens: sql<number>`sum(${llmCalls.promptTokens})`.mapWith(Number),
      cachedTokens: sql<number>`sum(${llmCalls.cachedTokens})`.mapWith(Number),
      completionTokens: sql<number>`sum(${llmCalls.completionTokens})`.mapWith(Number),
      costUsd: sql<number>`sum(${llmCalls.costUsd})`.mapWith(Number),
    })
    .from(llmCalls)
    .where(eq(llmCalls.projectId, projectId))
    .groupBy(llmCalls.stage)
    .orderBy(sql`min(${llmCalls.id})`);
}
