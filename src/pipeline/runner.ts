import type { Logger } from "pino";
import type { Db } from "../../db/client";
import type { Project } from "../../db/schema";
import { beatsMarkdown, runBeats } from "../../stages/beats";
import { castMarkdown, runCharacters } from "../../stages/characters";
import { conceptMarkdown, runConcept } from "../../stages/concept";
import { draftScene, stablePrefix } from "../../stages/draft";
import { type Outline, outlineMarkdown, runOutline } from "../../stages/outline";
import { need, type StageContext } from "../../stages/types";
import { runWorld, worldMarkdown } from "../../stages/world";
import type { Config } from "../config";
import type { LlmClient } from "../llm/client";
import { countWords } from "../text/words";
import { buildSceneContext } from "./context";
import type { Artifact, ProgressSink } from "./events";
import { nextStage, type PlanStageId, type StageId, stageLabel } from "./stages";
import {
  commitUnit,
  firstUndraftedScene,
  getProject,
  insertStageOutput,
  loadPlan,
  progressOf,
  replaceOutlineRows,
  sceneText,
  setChapterSummary,
  totalCost,
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

/** Drafting pace within this process, for the ETA; a fresh process starts measuring anew. */
export interface DraftPace {
  startedAt: number;
  scenes: number;
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
  pace: DraftPace | undefined,
): Promise<DraftPace | undefined> {
  const stage = project.stage as StageId;
  switch (stage) {
    case "concept":
    case "world":
    case "beats":
    case "characters":
    case "outline":
      await runPlanStage(deps, project, stage, leaseOwner, signal);
      break;
    case "outline_gate":
    case "draft_gate":
      passOrWaitAtGate(deps, project, stage, leaseOwner);
      break;
    case "drafting":
      pace = await draftNextScene(deps, project, leaseOwner, signal, pace);
      break;
    case "redraft":
      await redraft(deps, project, leaseOwner, signal);
      break;
    case "deliver":
      await deps.deliver(project, signal);
      commitUnit(deps.db, project, leaseOwner, "done", () => {}, { status: "done" });
      deps.emit({ type: "done", projectId: project.id, progress: progressOf(deps.db, project) });
      break;
    case "done":
      commitUnit(deps.db, project, leaseOwner, "done", () => {}, { status: "done" });
      break;
  }
  pauseWhenOverBudget(deps, project.id);
  return pace;
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
  commitUnit(deps.db, project, owner, gate, () => {}, { status: "waiting" });
  deps.emit({
    type: "gate",
    projectId: project.id,
    gate: gate === "outline_gate" ? "outline" : "draft",
    progress: progressOf(deps.db, project),
  });
}

async function draftNextScene(
  deps: PipelineDeps,
  project: Project,
  owner: string,
  signal: AbortSignal,
  pace: DraftPace | undefined,
): Promise<DraftPace | undefined> {
  const number = firstUndraftedScene(deps.db, project.id);
  if (number === undefined) {
    commitUnit(deps.db, project, owner, nextStage("drafting"), () => {});
    return pace;
  }
  if (number === 1)
    deps.emit({ type: "stage_started", projectId: project.id, stage: "drafting", label: "Scene Drafting" });
  const started = pace ?? { startedAt: Date.now(), scenes: 0 };
  const plan = loadPlan(deps.db, project.id);
  const outline = need(plan, "outline");
  const context = buildSceneContext(deps.db, project.id, outline, number);
  const drafted = await draftScene({ project, plan, llm: deps.llm, signal }, stablePrefix(plan), context);
  const isLast = number === outline.scenes.length;
  commitUnit(deps.db, project, owner, isLast ? nextStage("drafting") : "drafting", (tx) => {
    writeSceneText(tx, project.id, number, "drafting", drafted.text, {
      summary: drafted.summary,
      facts: drafted.facts,
    });
    if (drafted.chapterSummary)
      setChapterSummary(tx, project.id, context.scene.chapter, drafted.chapterSummary);
  });
  const done = { startedAt: started.startedAt, scenes: started.scenes + 1 };
  const perScene = (Date.now() - done.startedAt) / done.scenes;
  const eta = Math.round(perScene * (outline.scenes.length - number));
  deps.emit({
    type: "scene_drafted",
    projectId: project.id,
    scene: number,
    title: context.scene.title,
    sceneWords: countWords(drafted.text),
    progress: progressOf(deps.db, project, eta),
  });
  if (isLast) {
    deps.emit({
      type: "stage_finished",
      projectId: project.id,
      stage: "drafting",
      label: "Scene Drafting",
      summary: `${outline.scenes.length} scenes drafted.`,
      artifacts: [],
      progress: progressOf(deps.db, project, 0),
    });
  }
  return done;
}

async function redraft(deps: PipelineDeps, project: Project, owner: string, signal: AbortSignal) {
  const number = project.redraftScene;
  const previousText = number === null ? null : sceneText(deps.db, project.id, number);
  if (number === null || previousText === null) {
    commitUnit(deps.db, project, owner, "draft_gate", () => {}, { redraftScene: null, revisionNotes: null });
    return;
  }
  const plan = loadPlan(deps.db, project.id);
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
  const drafted = await draftScene({ project, plan, llm: deps.llm, signal }, stablePrefix(plan), context);
  commitUnit(
    deps.db,
    project,
    owner,
    "draft_gate",
    (tx) =>
      writeSceneText(tx, project.id, number, "redraft", drafted.text, {
        summary: drafted.summary,
        facts: drafted.facts,
        note: project.revisionNotes ?? undefined,
      }),
    { redraftScene: null, revisionNotes: null },
  );
  deps.emit({
    type: "scene_drafted",
    projectId: project.id,
    scene: number,
    title: context.scene.title,
    sceneWords: countWords(drafted.text),
    progress: progressOf(deps.db, project),
  });
}

/** `FOLIO_BUDGET_USD` is a per-project cap: past it the project pauses until the author resumes it. */
function pauseWhenOverBudget(deps: PipelineDeps, projectId: number) {
  const budget = deps.config.FOLIO_BUDGET_USD;
  if (budget <= 0) return;
  const spent = totalCost(deps.db, projectId);
  const project = getProject(deps.db, projectId);
  if (spent < budget || project?.status !== "running") return;
  const reason = `Budget reached: $${spent.toFixed(2)} of $${budget.toFixed(2)} spent. Raise FOLIO_BUDGET_USD and resume.`;
  deps.db.$client
    .prepare("update projects set status = 'paused', attention = ? where id = ? and status = 'running'")
    .run(reason, projectId);
  deps.emit({ type: "paused", projectId, reason });
}
