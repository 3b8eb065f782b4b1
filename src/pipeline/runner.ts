import { and, eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../db/client";
import { type Project, projects } from "../../db/schema";
import { beatsMarkdown, runBeats } from "../../stages/beats";
import { castMarkdown, runCharacters } from "../../stages/characters";
import { conceptMarkdown, runConcept } from "../../stages/concept";
import { digestChapter, digestScene, draftScene, stablePrefix } from "../../stages/draft";
import { type Outline, outlineMarkdown, runOutline } from "../../stages/outline";
import { need, type Plan, type StageContext } from "../../stages/types";
import { runWorld, worldMarkdown } from "../../stages/world";
import type { Config } from "../config";
import type { LlmClient } from "../llm/client";
import { countWords } from "../text/words";
import { buildSceneContext } from "./context";
import type { Artifact, ProgressSink } from "./events";
import { runRevisionStage } from "./revision";
import { nextStage, type PlanStageId, type StageId, stageLabel } from "./stages";
import {
  commitLeased,
  commitUnit,
  firstUndraftedScene,
  getProject,
  insertStageOutput,
  loadPlan,
  progressOf,
  replaceOutlineRows,
  sceneSummaries,
  sceneText,
  setChapterSummary,
  setSceneDigest,
  type Tx,
  totalCost,
  UnitInterrupted,
  undigestedChapters,
  undigestedScenes,
  writeSceneText,
} from "./store";

/** Hands the finished book to whoever asked for it (a file for the CLI, a thread for Discord). */
export type Deliverer = (project: Project, signal: AbortSignal) => Promise<void>;

export interface PipelineDeps {
  db: Db;
  llm: LlmClient;
  config: Config;
  log: Logger;
  emit: ProgressSink;
  deliver: Deliverer;
}

/**
 * What a worker keeps between units of one project: the plan and the drafting prefix (unchanged
 * while drafting, so not re-read and re-rendered per scene) and the drafting pace for the ETA.
 */
export interface WorkerMemory {
  plan?: Plan;
  prefix?: string;
  pace?: { startedAt: number; scenes: number };
  /** The digest lane in flight, if any (see `startDigestLane`). */
  digests?: Promise<void>;
  /** Why the digest lane last stopped, reported by the next drafting unit so it is retried like any unit. */
  digestError?: unknown;
}

interface PlanStage {
  run: (ctx: StageContext) => Promise<unknown>;
  present: (output: never) => { summary: string; artifacts: Artifact[] };
}

const PLAN_STAGES: Record<PlanStageId, PlanStage> = {
  concept: {
    run: runConcept,
    present: (c: Awaited<ReturnType<typeof runConcept>>) => ({
      summary: `**${c.title}** — ${c.logline}\n${c.genre} · ${c.pov}, ${c.tense} tense · motifs: ${c.motifs.map((m) => m.name).join(", ")}`,
      artifacts: [{ name: "concept.md", markdown: conceptMarkdown(c) }],
    }),
  },
  world: {
    run: runWorld,
    present: (w: Awaited<ReturnType<typeof runWorld>>) => ({
      summary: `${w.setting}\nPlaces: ${w.places.map((p) => p.name).join(", ")}`,
      artifacts: [{ name: "world.md", markdown: worldMarkdown(w) }],
    }),
  },
  beats: {
    run: runBeats,
    present: (b: Awaited<ReturnType<typeof runBeats>>) => ({
      summary: `${b.structure}: ${b.beats.length} beats (${b.beats.map((x) => x.name).join(" → ")})`,
      artifacts: [{ name: "beats.md", markdown: beatsMarkdown(b) }],
    }),
  },
  characters: {
    run: runCharacters,
    present: (c: Awaited<ReturnType<typeof runCharacters>>) => ({
      summary: c.characters.map((x) => `**${x.name}** — ${x.role}`).join("\n"),
      artifacts: [{ name: "cast.md", markdown: castMarkdown(c) }],
    }),
  },
  outline: {
    run: runOutline,
    present: (o: Outline) => ({
      summary: `${o.scenes.length} scenes in ${o.chapters.length} chapters, ${o.scenes.reduce((a, s) => a + s.targetWords, 0).toLocaleString("en-US")} words planned.`,
      artifacts: [{ name: "outline.md", markdown: outlineMarkdown(o) }],
    }),
  },
};

/**
 * Runs the project's next unit and commits it. Returns normally whether the project moved on,
 * reached a gate or finished; throws when the unit failed (the scheduler decides about retries).
 */
export async function runUnit(
  deps: PipelineDeps,
  project: Project,
  leaseOwner: string,
  signal: AbortSignal,
  memory: WorkerMemory,
): Promise<void> {
  const stage = project.stage as StageId;
  if (stage !== "deliver" && stage !== "done") checkpoint(deps, project.id);
  switch (stage) {
    case "concept":
    case "world":
    case "beats":
    case "characters":
    case "outline":
      memory.plan = undefined;
      memory.prefix = undefined;
      await runPlanStage(deps, project, stage, leaseOwner, signal);
      break;
    case "outline_gate":
    case "draft_gate":
      passOrWaitAtGate(deps, project, stage, leaseOwner);
      break;
    case "drafting":
      await draftNextScene(deps, project, leaseOwner, signal, memory);
      break;
    case "redraft":
      await redraft(deps, project, leaseOwner, signal, memory);
      break;
    case "refine":
    case "continuity":
    case "passes":
    case "voice":
    case "motifs":
    case "validate":
      await runRevisionStage(deps, project, leaseOwner, signal, memory, stage);
      break;
    case "deliver":
      await deps.deliver(project, signal);
      commitUnit(deps.db, project, leaseOwner, "done", () => {}, { status: "done" });
      deps.emit({ type: "done", projectId: project.id, progress: progressOf(deps.db, project) });
      break;
  }
}

function planFor(deps: PipelineDeps, project: Project, memory: WorkerMemory): { plan: Plan; prefix: string } {
  memory.plan ??= loadPlan(deps.db, project.id);
  memory.prefix ??= stablePrefix(memory.plan);
  return { plan: memory.plan, prefix: memory.prefix };
}

async function runPlanStage(
  deps: PipelineDeps,
  project: Project,
  stage: PlanStageId,
  leaseOwner: string,
  signal: AbortSignal,
) {
  deps.emit({ type: "stage_started", projectId: project.id, stage, label: stageLabel(stage) });
  const plan = loadPlan(deps.db, project.id);
  const ctx: StageContext = { project, plan, llm: deps.llm, signal };
  const output = await PLAN_STAGES[stage].run(ctx);
  const extra =
    stage === "concept"
      ? { title: (output as { title: string }).title }
      : stage === "outline"
        ? { revisionNotes: null }
        : {};
  commitUnit(
    deps.db,
    project,
    leaseOwner,
    nextStage(stage),
    (tx) => {
      insertStageOutput(tx, project.id, stage, output);
      if (stage === "outline") replaceOutlineRows(tx, project.id, output as Outline);
    },
    extra,
  );
  const shown = PLAN_STAGES[stage].present(output as never);
  deps.emit({
    type: "stage_finished",
    projectId: project.id,
    stage,
    label: stageLabel(stage),
    ...shown,
    progress: progressOf(deps.db, project),
  });
}

function passOrWaitAtGate(
  deps: PipelineDeps,
  project: Project,
  gate: "outline_gate" | "draft_gate",
  owner: string,
) {
  if (project.autoApprove) {
    commitUnit(deps.db, project, owner, nextStage(gate), () => {});
    return;
  }
  commitUnit(deps.db, project, owner, gate, () => {}, { status: "waiting", noticeMessageId: null });
  deps.emit({
    type: "gate",
    projectId: project.id,
    gate: gate === "outline_gate" ? "outline" : "draft",
    progress: progressOf(deps.db, project),
  });
}

/**
 * One drafting unit: scene N, committed the moment it is written. Summaries and continuity facts of
 * written scenes are produced by a digest lane running beside the drafting, so scene N+1 goes out as
 * soon as scene N is saved. Scene N is drafted from the digests of scenes up to N-2, plus the card and
 * the last words of scene N-1; the lane is never allowed to fall further behind than that.
 */
async function draftNextScene(
  deps: PipelineDeps,
  project: Project,
  owner: string,
  signal: AbortSignal,
  memory: WorkerMemory,
) {
  throwDigestError(memory);
  const number = firstUndraftedScene(deps.db, project.id);
  const { plan, prefix } = planFor(deps, project, memory);
  const outline = need(plan, "outline");
  const ctx: StageContext = { project, plan, llm: deps.llm, signal };
  if (number === undefined) return finishDrafting(deps, project, owner, ctx, memory);
  if (number === 1)
    deps.emit({
      type: "stage_started",
      projectId: project.id,
      stage: "drafting",
      label: stageLabel("drafting"),
    });
  if (undigestedScenes(deps.db, project.id).some((s) => s.number < number - 1)) {
    await awaitDigests(deps, ctx, owner, memory);
  }
  memory.pace ??= { startedAt: Date.now(), scenes: 0 };
  const context = buildSceneContext(deps.db, project.id, outline, number);
  const text = await draftScene(ctx, prefix, context);
  commitUnit(deps.db, project, owner, "drafting", (tx) =>
    writeSceneText(tx, project.id, number, "drafting", text),
  );
  startDigestLane(deps, ctx, owner, memory);
  memory.pace.scenes += 1;
  const perScene = (Date.now() - memory.pace.startedAt) / memory.pace.scenes;
  deps.emit({
    type: "scene_drafted",
    projectId: project.id,
    scene: number,
    title: context.scene.title,
    sceneWords: countWords(text),
    progress: progressOf(deps.db, project, Math.round(perScene * (outline.scenes.length - number))),
  });
}

async function finishDrafting(
  deps: PipelineDeps,
  project: Project,
  owner: string,
  ctx: StageContext,
  memory: WorkerMemory,
) {
  await awaitDigests(deps, ctx, owner, memory);
  commitUnit(deps.db, project, owner, nextStage("drafting"), () => {});
  deps.emit({
    type: "stage_finished",
    projectId: project.id,
    stage: "drafting",
    label: stageLabel("drafting"),
    summary: `${ctx.plan.outline?.scenes.length ?? 0} scenes drafted.`,
    artifacts: [],
    progress: progressOf(deps.db, project, 0),
  });
}

/** Starts the digest lane unless it is already running; it stops by itself when nothing is left. */
function startDigestLane(deps: PipelineDeps, ctx: StageContext, owner: string, memory: WorkerMemory): void {
  if (memory.digests) return;
  memory.digests = runDigestLane(deps, ctx, owner)
    .catch((error: unknown) => {
      memory.digestError = error;
    })
    .finally(() => {
      memory.digests = undefined;
    });
}

/** Waits until every written scene and every complete chapter has its digest, writing missing ones. */
async function awaitDigests(deps: PipelineDeps, ctx: StageContext, owner: string, memory: WorkerMemory) {
  await memory.digests;
  throwDigestError(memory);
  await runDigestLane(deps, ctx, owner);
}

function throwDigestError(memory: WorkerMemory): void {
  const error = memory.digestError;
  if (error === undefined) return;
  memory.digestError = undefined;
  throw error;
}

/** Digests written scenes in order, then chapters whose scenes are all digested; each one its own commit. */
async function runDigestLane(deps: PipelineDeps, ctx: StageContext, owner: string): Promise<void> {
  const { project } = ctx;
  const outline = need(ctx.plan, "outline");
  for (;;) {
    checkpoint(deps, project.id);
    const [scene] = undigestedScenes(deps.db, project.id);
    if (scene) {
      const digest = await digestScene(ctx, scene, scene.text, "drafting");
      commitDigest(deps, project, owner, (tx) =>
        setSceneDigest(tx, project.id, scene.number, digest.summary, digest.facts),
      );
      continue;
    }
    const chapter = completeUndigestedChapter(deps, project.id, outline);
    if (!chapter) return;
    const summary = await digestChapter(ctx, chapter.chapter, chapter.scenes);
    commitDigest(deps, project, owner, (tx) =>
      setChapterSummary(tx, project.id, chapter.chapter.number, summary),
    );
  }
}

/** A digest does not move the project; it only needs the lease to still be this worker's. */
function commitDigest(deps: PipelineDeps, project: Project, owner: string, write: (tx: Tx) => void) {
  commitLeased(deps.db, project.id, owner, {}, write);
}

function completeUndigestedChapter(deps: PipelineDeps, projectId: number, outline: Outline) {
  const summaries = new Map(sceneSummaries(deps.db, projectId).map((s) => [s.number, s.summary]));
  for (const number of undigestedChapters(deps.db, projectId)) {
    const chapter = outline.chapters.find((c) => c.number === number);
    const members = outline.scenes.filter((s) => s.chapter === number);
    if (!chapter || !members.every((s) => summaries.get(s.number))) continue;
    return {
      chapter,
      scenes: members.map((s) => ({ number: s.number, title: s.title, summary: summaries.get(s.number)! })),
    };
  }
  return undefined;
}

async function redraft(
  deps: PipelineDeps,
  project: Project,
  owner: string,
  signal: AbortSignal,
  memory: WorkerMemory,
) {
  const number = project.redraftScene;
  const previousText = number === null ? null : sceneText(deps.db, project.id, number);
  if (number === null || previousText === null) {
    commitUnit(deps.db, project, owner, "draft_gate", () => {}, { redraftScene: null, revisionNotes: null });
    return;
  }
  const { plan, prefix } = planFor(deps, project, memory);
  const ctx: StageContext = { project, plan, llm: deps.llm, signal };
  const context = {
    ...buildSceneContext(deps.db, project.id, need(plan, "outline"), number),
    redraft: { notes: project.revisionNotes ?? "Improve the scene.", previousText },
  };
  deps.emit({
    type: "stage_started",
    projectId: project.id,
    stage: "redraft",
    label: `Redrafting scene ${number}`,
  });
  const text = await draftScene(ctx, prefix, context);
  const digest = await digestScene(ctx, context.scene, text, "redraft");
  commitUnit(
    deps.db,
    project,
    owner,
    "draft_gate",
    (tx) => {
      writeSceneText(tx, project.id, number, "redraft", text, { note: project.revisionNotes ?? undefined });
      setSceneDigest(tx, project.id, number, digest.summary, digest.facts);
    },
    { redraftScene: null, revisionNotes: null },
  );
  deps.emit({
    type: "scene_drafted",
    projectId: project.id,
    scene: number,
    title: context.scene.title,
    sceneWords: countWords(text),
    progress: progressOf(deps.db, project),
  });
}

/**
 * Called before anything is paid for: stops the unit when the project was paused or cancelled
 * meanwhile, and pauses it when `FOLIO_BUDGET_USD` (a per-project cap) has been spent.
 */
export function checkpoint(deps: PipelineDeps, projectId: number): void {
  const project = getProject(deps.db, projectId);
  if (project?.status !== "running") throw new UnitInterrupted(projectId, project?.status ?? "gone");
  const budget = deps.config.FOLIO_BUDGET_USD;
  if (budget <= 0) return;
  const spent = totalCost(deps.db, projectId);
  if (spent < budget) return;
  const reason = `Budget reached: $${spent.toFixed(2)} of $${budget.toFixed(2)} spent. Raise FOLIO_BUDGET_USD (and restart), then resume.`;
  const paused = deps.db
    .update(projects)
    .set({ status: "paused", attention: reason, updatedAt: Date.now() })
    .where(and(eq(projects.id, projectId), eq(projects.status, "running")))
    .run();
  if (paused.changes === 1) deps.emit({ type: "paused", projectId, reason });
  throw new UnitInterrupted(projectId, "budget reached");
}
