// Over 300 lines: the drafting loop, its beat plans ahead and its digest lane share one unit's memory and
// lease, and are kept together.
import type { Project } from "../../../db/schema";
import type { SceneContext, SceneLoopStage } from "../../../stages/definition";
import type { Outline } from "../../../stages/outline";
import { need, type StageContext } from "../../../stages/types";
import type { Messages } from "../../llm/types";
import { countWords } from "../../text/words";
import { buildSceneContext, digestInput } from "../context";
import type { ProgressSnapshot } from "../events";
import {
  chapterScenes,
  firstUndraftedScene,
  firstUnplannedScene,
  sceneSummaries,
  sceneText,
  setChapterSummary,
  setSceneBeats,
  storeSceneDigest,
  undigestedChapters,
  undigestedScenes,
  writeSceneText,
} from "../store";
import { type Tx, UnitInterrupted } from "../transition";
import { checkpoint, commit, planFor, progress, stageContext, type Unit, type WorkerMemory } from "../unit";
import { idOf, nextStage } from "../workflow";

/** One unit of a scene loop: the next scene in order, or the scene the author asked to redraft. */
export function runSceneUnit(unit: Unit, stage: SceneLoopStage): Promise<void> {
  return stage.scenes === "every" ? draftNextScene(unit, stage) : redraftRequested(unit, stage);
}

/** How a failing unit of this loop is named to the author. */
export async function describeSceneUnit(
  db: Unit["deps"]["db"],
  project: Project,
  stage: SceneLoopStage,
): Promise<string> {
  if (stage.scenes === "every") {
    const scene = await firstUndraftedScene(db, project.id);
    if (scene !== undefined) return `${stage.label}, scene ${scene}`;
  } else if (project.redraftScene !== null) return `Redraft of scene ${project.redraftScene}`;
  return stage.label;
}

/**
 * One drafting unit: scene N, committed the moment it is written. Summaries and continuity facts of
 * written scenes are produced by a digest lane running beside the drafting, so scene N+1 goes out as
 * soon as scene N is saved. Scene N is drafted from the digests of scenes up to N-2, plus the card and
 * the last words of scene N-1; the lane is never allowed to fall further behind than that.
 */
async function draftNextScene(unit: Unit, stage: SceneLoopStage): Promise<void> {
  const { deps, project, memory } = unit;
  const id = idOf(stage);
  throwDigestError(unit);
  const number = await firstUndraftedScene(deps.db, project.id);
  const { plan, prefix } = await planFor(unit, stage.prefix);
  const outline = need(plan, "outline");
  const ctx = stageContext(unit, plan);
  if (number === undefined) return finishLoop(unit, stage, ctx);
  if (number === 1)
    deps.emit({ type: "stage_started", projectId: project.id, stage: id, label: stage.label });
  if ((await undigestedScenes(deps.db, project.id)).some((s) => s.number < number - 1)) {
    await awaitDigests(unit, stage, ctx);
  }
  memory.pace ??= { startedAt: Date.now(), scenes: 0 };
  memory.lengths ??= { shares: [] };
  await planBeats(unit, stage, ctx, prefix, outline, number);
  const context = withConversation(await buildSceneContext(deps.db, project.id, outline, number), memory);
  const drafting = { ...ctx, writing: liveWriting(unit, stage), lengths: memory.lengths };
  const { text, sent } = await stage.draft(drafting, prefix, context);
  await commit(unit, { write: (tx) => writeSceneText(tx, project.id, number, id, text) });
  rememberDraft(memory, number, text, sent);
  startDigestLane(unit, stage, ctx);
  memory.pace.scenes += 1;
  const perScene = (Date.now() - memory.pace.startedAt) / memory.pace.scenes;
  await announceScene(
    unit,
    stage,
    context.scene,
    text,
    Math.round(perScene * (outline.scenes.length - number)),
  );
  await announceChapter(unit, stage, outline, number);
}

/** When scene `number` is the last of its chapter, the chapter as written goes to the hosts. */
async function announceChapter(
  unit: Unit,
  stage: SceneLoopStage,
  outline: Outline,
  number: number,
): Promise<void> {
  const chapter = outline.scenes.find((s) => s.number === number)?.chapter;
  const last = outline.scenes.filter((s) => s.chapter === chapter).at(-1);
  if (chapter === undefined || last?.number !== number) return;
  const written = await chapterScenes(unit.deps.db, unit.project.id, chapter);
  unit.deps.emit({
    type: "chapter_drafted",
    projectId: unit.project.id,
    stage: idOf(stage),
    chapter,
    title: outline.chapters.find((c) => c.number === chapter)?.title ?? "",
    words: written.reduce((sum, s) => sum + countWords(s.text), 0),
    scenes: written,
  });
}

/**
 * Scenes are asked for in pairs of turns: a scene drafted afresh, then the next as the following turn of
 * its conversation (the first one's messages and text, cached, then the new request). The pair ends
 * there, so no prompt carries more than one earlier scene whole. A scene whose predecessor this worker
 * drafted has no use for the previous scene whole after the story: that shape is shared with a digest
 * made without the conversation, and this one's was made with it.
 */
function withConversation(context: SceneContext, memory: WorkerMemory): SceneContext {
  const before = memory.drafts?.get(context.scene.number - 1);
  if (!before) return context;
  const { previousWhole: _shared, ...rest } = context;
  return before.continued ? rest : { ...rest, conversation: { sent: before.sent, text: before.text } };
}

function rememberDraft(memory: WorkerMemory, number: number, text: string, sent: Messages | undefined): void {
  memory.drafts ??= new Map();
  for (const kept of memory.drafts.keys()) if (kept < number - 2) memory.drafts.delete(kept);
  if (!sent) {
    memory.drafts.delete(number);
    return;
  }
  memory.drafts.set(number, { sent, text, continued: sent.some((m) => m.role === "assistant") });
}

/** Scenes one beat-plan call plans. */
const SCENES_PER_PLAN = 4;

/**
 * Scene `number` has its beat plan before it is drafted: the one asked for ahead of time, or one asked
 * for now. Then the next scenes' plans are asked for beside the drafting, one call ahead, so the
 * drafting lane does not wait for them. Plans are stored the moment they arrive, so a restart does not
 * pay for them again.
 */
async function planBeats(
  unit: Unit,
  stage: SceneLoopStage,
  ctx: StageContext,
  prefix: string,
  outline: Outline,
  number: number,
): Promise<void> {
  const { deps, project, memory } = unit;
  const unplanned = async () => (await firstUnplannedScene(deps.db, project.id, number)) === number;
  if (await unplanned()) {
    await memory.plans;
    if (await unplanned()) await planScenesFrom(unit, stage, ctx, prefix, outline, number);
  }
  const next = await firstUnplannedScene(deps.db, project.id, number + 1);
  if (next === undefined || next > number + SCENES_PER_PLAN || memory.plans) return;
  memory.plans = planScenesFrom(unit, stage, { ...ctx, ahead: true }, prefix, outline, next)
    .catch((error: unknown) => {
      // Not a failure of the project: the scenes are planned again when they are reached.
      if (!(error instanceof UnitInterrupted) && !ctx.signal.aborted) {
        deps.log.warn({ err: error, projectId: project.id, scene: next }, "planning ahead failed");
      }
    })
    .finally(() => {
      memory.plans = undefined;
    });
}

/** Plans the beats of the next four scenes from `first`, in one call, and stores them together. */
async function planScenesFrom(
  unit: Unit,
  stage: SceneLoopStage,
  ctx: StageContext,
  prefix: string,
  outline: Outline,
  first: number,
): Promise<void> {
  await checkpoint(unit);
  const cards = outline.scenes.filter((s) => s.number >= first).slice(0, SCENES_PER_PLAN);
  const plans = await stage.planScenes(ctx, prefix, cards);
  await commit(unit, {
    write: async (tx) => {
      for (const [i, card] of cards.entries())
        await setSceneBeats(tx, unit.project.id, card.number, plans[i]!);
    },
  });
}

/** Shows the words of the scene in flight on the progress surfaces while it streams in. */
function liveWriting(unit: Unit, stage: SceneLoopStage) {
  // The book's counts do not move while a scene streams in: read once a second, not per word.
  let counted: { at: number; snapshot: Promise<ProgressSnapshot> } | undefined;
  return (scene: number, words: number) => {
    if (!counted || Date.now() - counted.at >= LIVE_COUNTS_MS)
      counted = { at: Date.now(), snapshot: progress(unit, null) };
    counted.snapshot.then(
      (snapshot) =>
        unit.deps.emit({
          type: "scene_writing",
          projectId: unit.project.id,
          stage: idOf(stage),
          label: stage.label,
          progress: { ...snapshot, writing: { scene, words } },
        }),
      // Only a view of the scene in flight: a database too busy to count for it is passed over.
      (error: unknown) => unit.deps.log.warn({ err: error, projectId: unit.project.id }, "no live progress"),
    );
  };
}

/** How long the counts shown beside a scene in flight are reused. */
const LIVE_COUNTS_MS = 1_000;

async function announceScene(
  unit: Unit,
  stage: SceneLoopStage,
  scene: { number: number; title: string },
  text: string,
  etaMs: number | null,
): Promise<void> {
  const snapshot = await progress(unit, etaMs);
  unit.deps.emit({
    type: "scene_drafted",
    projectId: unit.project.id,
    stage: idOf(stage),
    label: stage.label,
    scene: scene.number,
    title: scene.title,
    sceneWords: countWords(text),
    progress: snapshot,
  });
}

async function finishLoop(unit: Unit, stage: SceneLoopStage, ctx: StageContext): Promise<void> {
  const id = idOf(stage);
  await awaitDigests(unit, stage, ctx);
  await commit(unit, { to: { stage: nextStage(id) } });
  const snapshot = await progress(unit, 0);
  unit.deps.emit({
    type: "stage_finished",
    projectId: unit.project.id,
    stage: id,
    label: stage.label,
    summary: `${ctx.plan.outline?.scenes.length ?? 0} scenes drafted.`,
    artifacts: [],
    progress: snapshot,
  });
}

/** Starts the digest lane unless it is already running; it stops by itself when nothing is left. */
function startDigestLane(unit: Unit, stage: SceneLoopStage, ctx: StageContext): void {
  const { memory } = unit;
  if (memory.digests) return;
  memory.digests = runDigestLane(unit, stage, ctx)
    .catch((error: unknown) => {
      memory.digestError = error;
    })
    .finally(() => {
      memory.digests = undefined;
    });
}

/** Waits until every written scene and every complete chapter has its digest, writing missing ones. */
async function awaitDigests(unit: Unit, stage: SceneLoopStage, ctx: StageContext): Promise<void> {
  await unit.memory.digests;
  throwDigestError(unit);
  await runDigestLane(unit, stage, ctx);
}

function throwDigestError(unit: Unit): void {
  const error = unit.memory.digestError;
  if (error === undefined) return;
  unit.memory.digestError = undefined;
  throw error;
}

/** Digests written scenes in order, then chapters whose scenes are all digested; each one its own commit. */
async function runDigestLane(unit: Unit, stage: SceneLoopStage, ctx: StageContext): Promise<void> {
  const { deps, project } = unit;
  const outline = need(ctx.plan, "outline");
  // A digest does not move the project; it only needs the lease to still be this worker's.
  const store = (write: (tx: Tx) => Promise<void>) => commit(unit, { write });
  for (;;) {
    await checkpoint(unit);
    const [scene] = await undigestedScenes(deps.db, project.id);
    if (scene) {
      const input = await digestInput(deps.db, project.id, outline, scene.number);
      // The drafting conversation continued, when this worker drafted the scene as it stands.
      const drafted = unit.memory.drafts?.get(scene.number);
      if (drafted?.text === scene.text) input.drafted = drafted.sent;
      const digest = await stage.digest(ctx, scene, scene.text, input, unit.memory.prefix);
      await store((tx) => storeSceneDigest(tx, project.id, scene.number, scene.text, digest));
      continue;
    }
    const chapter = await completeUndigestedChapter(unit, outline);
    if (!chapter) return;
    const summary = await stage.digestChapter(ctx, chapter.chapter, chapter.scenes);
    await store((tx) => setChapterSummary(tx, project.id, chapter.chapter.number, summary));
  }
}

async function completeUndigestedChapter(unit: Unit, outline: Outline) {
  const { db } = unit.deps;
  const projectId = unit.project.id;
  const summaries = new Map((await sceneSummaries(db, projectId)).map((s) => [s.number, s.summary]));
  for (const number of await undigestedChapters(db, projectId)) {
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

/** The scene the author asked for, written again with their notes and digested in the same commit. */
async function redraftRequested(unit: Unit, stage: SceneLoopStage): Promise<void> {
  const { deps, project } = unit;
  const id = idOf(stage);
  const back = { stage: nextStage(id), redraftScene: null, revisionNotes: null };
  const number = project.redraftScene;
  const previousText = number === null ? null : await sceneText(deps.db, project.id, number);
  if (number === null || previousText === null) {
    await commit(unit, { to: back });
    return;
  }
  const { plan, prefix } = await planFor(unit, stage.prefix);
  const ctx = stageContext(unit, plan);
  // A scene before it rolled back since its digest has no ledger rows: digested again, the state this
  // scene starts from is rebuilt from the scenes that stand.
  if ((await undigestedScenes(deps.db, project.id)).some((s) => s.number < number))
    await awaitDigests(unit, stage, ctx);
  const context = {
    ...(await buildSceneContext(deps.db, project.id, need(plan, "outline"), number)),
    redraft: { notes: project.revisionNotes ?? "Improve the scene.", previousText },
  };
  deps.emit({ type: "stage_started", projectId: project.id, stage: id, label: `Redrafting scene ${number}` });
  const { text } = await stage.draft({ ...ctx, writing: liveWriting(unit, stage) }, prefix, context);
  const input = await digestInput(deps.db, project.id, need(plan, "outline"), number);
  const digest = await stage.digest(ctx, context.scene, text, input, prefix);
  await commit(unit, {
    to: back,
    write: async (tx) => {
      await writeSceneText(tx, project.id, number, id, text, { note: project.revisionNotes ?? undefined });
      await storeSceneDigest(tx, project.id, number, text, digest);
    },
  });
  await announceScene(unit, stage, context.scene, text, null);
}
