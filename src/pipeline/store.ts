import { createHash } from "node:crypto";
import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
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
import type { Tx } from "./transition";
import { WORKFLOW } from "./workflow";

/** Planning outputs are stored under the name of the artifact each plan stage produces. */
const PLAN_KEYS: string[] = WORKFLOW.flatMap((s) => (s.kind === "plan" ? [s.produces] : []));

export const nowMs = () => Date.now();

export function getProject(db: Db | Tx, id: number): Project | undefined {
  return db.select().from(projects).where(eq(projects.id, id)).get();
}

/** The newest output of each planning stage. */
export function loadPlan(db: Db, projectId: number): Plan {
  const rows = db
    .select()
    .from(stageOutputs)
    .where(and(eq(stageOutputs.projectId, projectId), inArray(stageOutputs.stage, PLAN_KEYS)))
    .orderBy(asc(stageOutputs.id))
    .all();
  const plan: Plan = {};
  for (const row of rows) {
    (plan as Record<string, unknown>)[row.stage] = row.data;
  }
  return plan;
}

export function insertStageOutput(tx: Tx, projectId: number, stage: string, data: unknown): void {
  tx.insert(stageOutputs).values({ projectId, stage, data }).run();
}

/** Replaces the scene and chapter rows with a new outline; only ever called before drafting starts. */
export function replaceOutlineRows(tx: Tx, projectId: number, outline: Outline): void {
  tx.delete(scenes).where(eq(scenes.projectId, projectId)).run();
  tx.delete(chapters).where(eq(chapters.projectId, projectId)).run();
  tx.insert(chapters)
    .values(outline.chapters.map((c) => ({ projectId, number: c.number, title: c.title })))
    .run();
  tx.insert(scenes)
    .values(
      outline.scenes.map((s) => ({
        projectId,
        number: s.number,
        chapter: s.chapter,
        title: s.title,
        card: s,
        targetWords: s.targetWords,
      })),
    )
    .run();
}

/**
 * Stores a scene's new text as its current text and as a kept version. The digest stays: revisions
 * polish a scene without changing its story, and a redraft writes its new digest in the same commit.
 */
export function writeSceneText(
  tx: Tx,
  projectId: number,
  sceneNumber: number,
  stage: string,
  text: string,
  fields: { note?: string } = {},
): void {
  const words = countWords(text);
  tx.update(scenes)
    .set({ text, words, updatedAt: nowMs() })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)))
    .run();
  tx.insert(sceneVersions)
    .values({ projectId, sceneNumber, stage, text, words, note: fields.note ?? null })
    .run();
}

/** Forgets the scene's digest and its ledger rows, for a text that replaced the one they described. */
export function clearSceneDigest(tx: Tx, projectId: number, sceneNumber: number): void {
  tx.update(scenes)
    .set({ summary: null, facts: null, digestOf: null })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)))
    .run();
  clearLedger(tx, projectId, sceneNumber);
}

/** The scene's digest and its ledger rows, made from `text`, in one write. */
export function storeSceneDigest(
  tx: Tx,
  projectId: number,
  sceneNumber: number,
  text: string,
  digest: SceneDigest,
): void {
  tx.update(scenes)
    .set({ summary: digest.summary, facts: digest.facts, digestOf: textHash(text) })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)))
    .run();
  writeLedger(tx, projectId, sceneNumber, digest);
}

/** Identifies the text a digest was made from. */
export const textHash = (text: string) => createHash("sha256").update(text).digest("hex");

/** Written scenes whose digest was made from another text than the one that stands (or never made). */
export function staleDigests(db: Db, projectId: number): { number: number; title: string; text: string }[] {
  return db
    .select({ number: scenes.number, title: scenes.title, text: scenes.text, digestOf: scenes.digestOf })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), isNotNull(scenes.text)))
    .orderBy(asc(scenes.number))
    .all()
    .filter((s) => s.digestOf !== textHash(s.text!))
    .map((s) => ({ number: s.number, title: s.title, text: s.text! }));
}

/** Written scenes without a digest yet, in order. */
export function undigestedScenes(
  db: Db,
  projectId: number,
): { number: number; title: string; text: string }[] {
  return db
    .select({ number: scenes.number, title: scenes.title, text: scenes.text })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), isNotNull(scenes.text), isNull(scenes.summary)))
    .orderBy(asc(scenes.number))
    .all() as { number: number; title: string; text: string }[];
}

export function sceneSummaries(db: Db, projectId: number): { number: number; summary: string | null }[] {
  return db
    .select({ number: scenes.number, summary: scenes.summary })
    .from(scenes)
    .where(eq(scenes.projectId, projectId))
    .all();
}

export function undigestedChapters(db: Db, projectId: number): number[] {
  return db
    .select({ number: chapters.number })
    .from(chapters)
    .where(and(eq(chapters.projectId, projectId), isNull(chapters.summary)))
    .orderBy(asc(chapters.number))
    .all()
    .map((c) => c.number);
}

export function setChapterSummary(tx: Tx, projectId: number, chapter: number, summary: string): void {
  tx.update(chapters)
    .set({ summary })
    .where(and(eq(chapters.projectId, projectId), eq(chapters.number, chapter)))
    .run();
}

/** The scene's beat plan, if it has been planned. */
export function sceneBeats(db: Db, projectId: number, sceneNumber: number): Beat[] | null {
  return (
    db
      .select({ beats: scenes.beats })
      .from(scenes)
      .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)))
      .get()?.beats ?? null
  );
}

/** The first scene from `from` on that has no beat plan yet. */
export function firstUnplannedScene(db: Db, projectId: number, from: number): number | undefined {
  return db
    .select({ number: scenes.number })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), gte(scenes.number, from), isNull(scenes.beats)))
    .orderBy(asc(scenes.number))
    .limit(1)
    .get()?.number;
}

export function setSceneBeats(tx: Tx, projectId: number, sceneNumber: number, beats: Beat[]): void {
  tx.update(scenes)
    .set({ beats })
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)))
    .run();
}

export function firstUndraftedScene(db: Db, projectId: number): number | undefined {
  return db
    .select({ number: scenes.number })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), isNull(scenes.text)))
    .orderBy(asc(scenes.number))
    .limit(1)
    .get()?.number;
}

export function sceneText(db: Db, projectId: number, sceneNumber: number): string | null {
  return (
    db
      .select({ text: scenes.text })
      .from(scenes)
      .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)))
      .get()?.text ?? null
  );
}

export function totalCost(db: Db, projectId: number): number {
  return (
    db
      .select({ cost: sql<number>`coalesce(sum(${llmCalls.costUsd}), 0)` })
      .from(llmCalls)
      .where(eq(llmCalls.projectId, projectId))
      .get()?.cost ?? 0
  );
}

export function progressOf(db: Db, project: Project, etaMs: number | null = null): ProgressSnapshot {
  const sceneTotals = db
    .select({
      count: sql<number>`count(*)`,
      done: sql<number>`count(${scenes.text})`,
      words: sql<number>`coalesce(sum(${scenes.words}), 0)`,
    })
    .from(scenes)
    .where(eq(scenes.projectId, project.id))
    .get();
  const usage = db
    .select({
      prompt: sql<number>`coalesce(sum(${llmCalls.promptTokens}), 0)`,
      cached: sql<number>`coalesce(sum(${llmCalls.cachedTokens}), 0)`,
      completion: sql<number>`coalesce(sum(${llmCalls.completionTokens}), 0)`,
      cost: sql<number>`coalesce(sum(${llmCalls.costUsd}), 0)`,
    })
    .from(llmCalls)
    .where(eq(llmCalls.projectId, project.id))
    .get();
  return {
    scenesDone: sceneTotals?.done ?? 0,
    sceneCount: sceneTotals?.count || project.sceneCount,
    words: sceneTotals?.words ?? 0,
    targetWords: project.targetWords,
    promptTokens: usage?.prompt ?? 0,
    cachedTokens: usage?.cached ?? 0,
    completionTokens: usage?.completion ?? 0,
    costUsd: usage?.cost ?? 0,
    elapsedMs: nowMs() - project.createdAt,
    etaMs,
  };
}

/** Projects that have not reached an end, newest last. */
export function unfinishedProjects(db: Db): Project[] {
  return db
    .select()
    .from(projects)
    .where(sql`${projects.status} not in ('done', 'cancelled')`)
    .orderBy(asc(projects.id))
    .all();
}

export function latestProject(db: Db): Project | undefined {
  return db.select().from(projects).orderBy(desc(projects.id)).limit(1).get();
}

export function allProjects(db: Db): Project[] {
  return db.select().from(projects).orderBy(asc(projects.id)).all();
}

export function hasDraftedScenes(db: Db, projectId: number): boolean {
  return (
    db
      .select({ n: scenes.number })
      .from(scenes)
      .where(and(eq(scenes.projectId, projectId), isNotNull(scenes.text)))
      .limit(1)
      .get() !== undefined
  );
}
