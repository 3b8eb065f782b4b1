// Over 300 lines: the pipeline's reads and writes of a project's rows (scenes, chapters, digests, plan,
// progress) are kept in one module, so every query a unit makes is found in one place.
import { createHash } from "node:crypto";
import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { Db, Tx } from "../../db/client";
import {
  chapters,
  llmCalls,
  type Project,
  projects,
  scenes,
  sceneVersions,
  stageOutputs,
} from "../../db/schema";
import type { SceneDigest } from "../../stages/draft";
import type { Outline } from "../../stages/outline";
import type { Beat } from "../../stages/scene-plan";
import type { Plan } from "../../stages/types";
import { countWords } from "../text/words";
import type { ProgressSnapshot } from "./events";
import { clearLedger, writeLedger } from "./ledger";
import { WORKFLOW } from "./workflow";

/** Planning outputs are stored under the name of the artifact each plan stage produces. */
const PLAN_KEYS: string[] = WORKFLOW.flatMap((s) => (s.kind === "plan" ? [s.produces] : []));

export const nowMs = () => Date.now();

export async function getProject(db: Db | Tx, id: number): Promise<Project | undefined> {
  const [project] = await db.select().from(projects).where(eq(projects.id, id));
  return project;
}

/** The newest output of each planning stage. */
export async function loadPlan(db: Db, projectId: number): Promise<Plan> {
  const rows = await db
    .select()
    .from(stageOutputs)
    .where(and(eq(stageOutputs.projectId, projectId), inArray(stageOutputs.stage, PLAN_KEYS)))
    .orderBy(asc(stageOutputs.id));
  const plan: Plan = {};
  for (const row of rows) {
    (plan as Record<string, unknown>)[row.stage] = row.data;
  }
  return plan;
}

export async function insertStageOutput(
  tx: Tx,
  projectId: number,
  stage: string,
  data: unknown,
): Promise<void> {
  await tx.insert(stageOutputs).values({ projectId, stage, data });
}

/** The newest output stored under `key` (a part, an audit), if any. */
export async function recallOutput<T>(db: Db, projectId: number, key: string): Promise<T | undefined> {
  const [row] = await db
    .select({ data: stageOutputs.data })
    .from(stageOutputs)
    .where(and(eq(stageOutputs.projectId, projectId), eq(stageOutputs.stage, key)))
    .orderBy(desc(stageOutputs.id))
    .limit(1);
  return row?.data as T | undefined;
}

/** Replaces the scene and chapter rows with a new outline; only ever called before drafting starts. */
export async function replaceOutlineRows(tx: Tx, projectId: number, outline: Outline): Promise<void> {
  await tx.delete(scenes).where(eq(scenes.projectId, projectId));
  await tx.delete(chapters).where(eq(chapters.projectId, projectId));
  await tx
    .insert(chapters)
    .values(outline.chapters.map((c) => ({ projectId, number: c.number, title: c.title })));
  await tx.insert(scenes).values(
    outline.scenes.map((s) => ({
      projectId,
      number: s.number,
      chapter: s.chapter,
      title: s.title,
      card: s,
      targetWords: s.targetWords,
    })),
  );
}

/**
 * Stores a scene's new text as its current text and as a kept version. The digest stays: revisions
 * polish a scene without changing its story, and a redraft writes its new digest in the same commit.
 */
export async function writeSceneText(
  tx: Tx,
  projectId: number,
  sceneNumber: number,
  stage: string,
  text: string,
  fields: { note?: string } = {},
): Promise<void> {
  const words = countWords(text);
  await tx
    .update(scenes)
    .set({ text, words, updatedAt: nowMs() })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)));
  await tx
    .insert(sceneVersions)
    .values({ projectId, sceneNumber, stage, text, words, note: fields.note ?? null });
}

/** Forgets the scene's digest and its ledger rows, for a text that replaced the one they described. */
export async function clearSceneDigest(tx: Tx, projectId: number, sceneNumber: number): Promise<void> {
  await tx
    .update(scenes)
    .set({ summary: null, facts: null, digestOf: null })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)));
  await clearLedger(tx, projectId, sceneNumber);
}

/** The scene's digest and its ledger rows, made from `text`, in one write. */
export async function storeSceneDigest(
  tx: Tx,
  projectId: number,
  sceneNumber: number,
  text: string,
  digest: SceneDigest,
): Promise<void> {
  await tx
    .update(scenes)
    .set({ summary: digest.summary, facts: digest.facts, digestOf: textHash(text) })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)));
  await writeLedger(tx, projectId, sceneNumber, digest);
}

/** Identifies the text a digest was made from. */
export const textHash = (text: string) => createHash("sha256").update(text).digest("hex");

/** Written scenes whose digest was made from another text than the one that stands (or never made). */
export async function staleDigests(
  db: Db,
  projectId: number,
): Promise<{ number: number; title: string; text: string }[]> {
  const rows = await db
    .select({ number: scenes.number, title: scenes.title, text: scenes.text, digestOf: scenes.digestOf })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), isNotNull(scenes.text)))
    .orderBy(asc(scenes.number));
  return rows
    .filter((s) => s.digestOf !== textHash(s.text!))
    .map((s) => ({ number: s.number, title: s.title, text: s.text! }));
}

/** Written scenes without a digest yet, in order. */
export async function undigestedScenes(
  db: Db,
  projectId: number,
): Promise<{ number: number; title: string; text: string }[]> {
  return (await db
    .select({ number: scenes.number, title: scenes.title, text: scenes.text })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), isNotNull(scenes.text), isNull(scenes.summary)))
    .orderBy(asc(scenes.number))) as { number: number; title: string; text: string }[];
}

export async function sceneSummaries(
  db: Db,
  projectId: number,
): Promise<{ number: number; summary: string | null }[]> {
  return db
    .select({ number: scenes.number, summary: scenes.summary })
    .from(scenes)
    .where(eq(scenes.projectId, projectId));
}

export async function undigestedChapters(db: Db, projectId: number): Promise<number[]> {
  const rows = await db
    .select({ number: chapters.number })
    .from(chapters)
    .where(and(eq(chapters.projectId, projectId), isNull(chapters.summary)))
    .orderBy(asc(chapters.number));
  return rows.map((c) => c.number);
}

export async function setChapterSummary(
  tx: Tx,
  projectId: number,
  chapter: number,
  summary: string,
): Promise<void> {
  await tx
    .update(chapters)
    .set({ summary })
    .where(and(eq(chapters.projectId, projectId), eq(chapters.number, chapter)));
}

/** The scene's beat plan, if it has been planned. */
export async function sceneBeats(db: Db, projectId: number, sceneNumber: number): Promise<Beat[] | null> {
  const [row] = await db
    .select({ beats: scenes.beats })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)));
  return row?.beats ?? null;
}

/** The first scene from `from` on that has no beat plan yet. */
export async function firstUnplannedScene(
  db: Db,
  projectId: number,
  from: number,
): Promise<number | undefined> {
  const [row] = await db
    .select({ number: scenes.number })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), gte(scenes.number, from), isNull(scenes.beats)))
    .orderBy(asc(scenes.number))
    .limit(1);
  return row?.number;
}

export async function setSceneBeats(
  tx: Tx,
  projectId: number,
  sceneNumber: number,
  beats: Beat[],
): Promise<void> {
  await tx
    .update(scenes)
    .set({ beats })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)));
}

export async function firstUndraftedScene(db: Db, projectId: number): Promise<number | undefined> {
  const [row] = await db
    .select({ number: scenes.number })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), isNull(scenes.text)))
    .orderBy(asc(scenes.number))
    .limit(1);
  return row?.number;
}

/** The written scenes of one chapter, in order. */
export async function chapterScenes(
  db: Db,
  projectId: number,
  chapter: number,
): Promise<{ number: number; title: string; text: string }[]> {
  const rows = await db
    .select({ number: scenes.number, title: scenes.title, text: scenes.text })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), eq(scenes.chapter, chapter), isNotNull(scenes.text)))
    .orderBy(asc(scenes.number));
  return rows.map((r) => ({ ...r, text: r.text! }));
}

export async function sceneText(db: Db, projectId: number, sceneNumber: number): Promise<string | null> {
  const [row] = await db
    .select({ text: scenes.text })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)));
  return row?.text ?? null;
}

export async function totalCost(db: Db, projectId: number): Promise<number> {
  const [row] = await db
    .select({ cost: sql<number>`coalesce(sum(${llmCalls.costUsd}), 0)`.mapWith(Number) })
    .from(llmCalls)
    .where(eq(llmCalls.projectId, projectId));
  return row?.cost ?? 0;
}

export async function progressOf(
  db: Db,
  project: Project,
  etaMs: number | null = null,
): Promise<ProgressSnapshot> {
  // One round trip: the scene totals and the model usage, as scalar subqueries of one select.
  const ofScenes = (column: SQL) =>
    sql<number>`(select ${column} from ${scenes} where ${scenes.projectId} = ${project.id})`.mapWith(Number);
  const spent = (column: SQL) =>
    sql<number>`(select coalesce(sum(${column}), 0) from ${llmCalls} where ${llmCalls.projectId} = ${project.id})`.mapWith(
      Number,
    );
  const [totals] = await db
    .select({
      count: ofScenes(sql`count(*)`),
      done: ofScenes(sql`count(${scenes.text})`),
      words: ofScenes(sql`coalesce(sum(${scenes.words}), 0)`),
      prompt: spent(sql`${llmCalls.promptTokens}`),
      cached: spent(sql`${llmCalls.cachedTokens}`),
      completion: spent(sql`${llmCalls.completionTokens}`),
      cost: spent(sql`${llmCalls.costUsd}`),
    })
    .from(projects)
    .where(eq(projects.id, project.id));
  return {
    scenesDone: totals?.done ?? 0,
    sceneCount: totals?.count || project.sceneCount,
    words: totals?.words ?? 0,
    targetWords: project.targetWords,
    promptTokens: totals?.prompt ?? 0,
    cachedTokens: totals?.cached ?? 0,
    completionTokens: totals?.completion ?? 0,
    costUsd: totals?.cost ?? 0,
    elapsedMs: nowMs() - project.createdAt,
    etaMs,
  };
}

/** Projects that have not reached an end, newest last. */
export async function unfinishedProjects(db: Db): Promise<Project[]> {
  return db
    .select()
    .from(projects)
    .where(sql`${projects.status} not in ('done', 'cancelled')`)
    .orderBy(asc(projects.id));
}

export async function latestProject(db: Db): Promise<Project | undefined> {
  const [project] = await db.select().from(projects).orderBy(desc(projects.id)).limit(1);
  return project;
}

export async function allProjects(db: Db): Promise<Project[]> {
  return db.select().from(projects).orderBy(asc(projects.id));
}

export async function hasDraftedScenes(db: Db, projectId: number): Promise<boolean> {
  const rows = await db
    .select({ n: scenes.number })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), isNotNull(scenes.text)))
    .limit(1);
  return rows.length > 0;
}
