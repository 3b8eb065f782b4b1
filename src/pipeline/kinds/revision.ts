import { and, asc, eq, isNotNull } from "drizzle-orm";
import pLimit from "p-limit";
import { revisionResults, scenes, sceneVersions } from "../../../db/schema";
import type { Proposal, RevisionRun, RevisionStage } from "../../../stages/definition";
import type { SceneCard } from "../../../stages/outline";
import type { RevisionScene } from "../../../stages/rewrite";
import { need } from "../../../stages/types";
import { ModelDeclined } from "../../llm/errors";
import { countWords, lastWords, truncateWords } from "../../text/words";
import { digestInput } from "../context";
import { checkRewrite } from "../guards";
import { chapterNotesOf } from "../notes";
import { insertStageOutput, recallOutput, staleDigests, storeSceneDigest, writeSceneText } from "../store";
import { checkpoint, commit, planFor, progress, stageContext, type Unit } from "../unit";
import { draftingPrefix, idOf, nextStage } from "../workflow";

/**
 * Runs one revision stage over every scene with bounded concurrency. Each scene's result is committed
 * as it arrives, with a row in `revision_results`, so a crash resumes at the scenes not yet handled;
 * one failed scene never cancels the others. The stage advances once every scene has a result.
 */
export async function runRevisionStage(unit: Unit, stage: RevisionStage): Promise<void> {
  const { deps, project } = unit;
  const id = idOf(stage);
  // Rewrites open with the drafting prefix, so the provider's prompt cache serves them too.
  const { plan, prefix } = await planFor(unit, draftingPrefix);
  for (const key of stage.needs) need(plan, key);
  const run = revisionRun(unit, stage, prefix, stageContext(unit, plan));
  if ((await stageRows(unit, id)).length === 0) {
    deps.emit({ type: "stage_started", projectId: project.id, stage: id, label: stage.label });
  }
  await stage.work(run);
  await commit(unit, { to: { stage: nextStage(id) } });
  deps.emit({
    type: "stage_finished",
    projectId: project.id,
    stage: id,
    label: stage.label,
    summary: summarize(await stageRows(unit, id)),
    artifacts: [],
    progress: await progress(unit, 0),
  });
}

function revisionRun(unit: Unit, stage: RevisionStage, prefix: string, ctx: RevisionRun["ctx"]): RevisionRun {
  const { db, config } = unit.deps;
  const projectId = unit.project.id;
  const bounded = <T, R>(items: T[], task: (item: T) => Promise<R>) => {
    const limit = pLimit(config.FOLIO_REFINE_CONCURRENCY);
    return settleAll(items.map((item) => limit(() => task(item))));
  };
  const run: RevisionRun = {
    stage: stage.id,
    ctx,
    prefix,
    scenes: () => loadRevisionScenes(unit),
    digests: async () =>
      new Map(
        (
          await db
            .select({ number: scenes.number, summary: scenes.summary, facts: scenes.facts })
            .from(scenes)
            .where(eq(scenes.projectId, projectId))
        ).map((r) => [r.number, r]),
      ),
    refreshDigests: async (digest) => {
      const outline = need(ctx.plan, "outline");
      await bounded(await staleDigests(db, projectId), async (scene) => {
        unit.signal.throwIfAborted();
        await checkpoint(unit);
        const made = await digest(scene, await digestInput(db, projectId, outline, scene.number));
        await commit(unit, {
          write: (tx) => storeSceneDigest(tx, projectId, scene.number, scene.text, made),
        });
      });
    },
    reviseEach: (step, include, propose) => reviseEach(unit, stage, run, step, include, propose),
    hasResults: async (step) => (await resultsFor(unit, step)).length > 0,
    recall: <T>(key: string) => recallOutput<T>(db, projectId, key),
    remember: async (key, data) => {
      await commit(unit, { write: (tx) => insertStageOutput(tx, projectId, key, data) });
    },
    bounded,
  };
  return run;
}

/**
 * The bounded, resumable loop over scenes for one step. Scenes that already have a result for the
 * step are skipped; the rest run `FOLIO_REFINE_CONCURRENCY` at a time; all of them are given their
 * chance before the first failure, if any, is thrown.
 */
async function reviseEach(
  unit: Unit,
  stage: RevisionStage,
  run: RevisionRun,
  step: string,
  include: (scene: RevisionScene) => boolean,
  propose: (scene: RevisionScene) => Promise<Proposal>,
): Promise<void> {
  const chosen = (await run.scenes()).filter(include);
  const done = new Set((await resultsFor(unit, step)).map((r) => r.sceneNumber));
  const todo = chosen.filter((s) => !done.has(s.number));
  let finished = chosen.length - todo.length;
  const started = Date.now();
  let doneHere = 0;
  await run.bounded(todo, async (scene) => {
    unit.signal.throwIfAborted();
    await checkpoint(unit);
    const outcome = await commitProposal(unit, step, scene, await declinedAsKept(propose(scene)));
    finished += 1;
    doneHere += 1;
    const eta = Math.round(((Date.now() - started) / doneHere) * (chosen.length - finished));
    unit.deps.emit({
      type: "scene_revised",
      projectId: unit.project.id,
      stage: idOf(stage),
      label: stage.label,
      scene: scene.number,
      outcome,
      done: finished,
      total: chosen.length,
      progress: await progress(unit, eta),
    });
  });
}

/** A pass the model declines keeps its scene as it was (written already), with the reason recorded. */
type Outcome = Proposal | { declined: string; detail: Record<string, unknown> };

async function declinedAsKept(proposal: Promise<Proposal>): Promise<Outcome> {
  try {
    return await proposal;
  } catch (error) {
    if (!(error instanceof ModelDeclined)) throw error;
    return {
      declined: `the model declined (${error.kind.replace("_", " ")})`,
      detail: { error: error.message },
    };
  }
}

/** Judges a proposal with the rewrite guard and stores the outcome with the scene's new text, if any. */
async function commitProposal(unit: Unit, step: string, scene: RevisionScene, proposal: Outcome) {
  const projectId = unit.project.id;
  const verdict =
    "text" in proposal ? checkRewrite(scene.text, proposal.text, proposal.direction) : undefined;
  const outcome =
    "declined" in proposal ? "declined" : !verdict ? "unchanged" : verdict.ok ? "revised" : "rejected";
  await commit(unit, {
    write: async (tx) => {
      if ("text" in proposal && verdict?.ok)
        await writeSceneText(tx, projectId, scene.number, step, proposal.text);
      if ("text" in proposal && verdict && !verdict.ok) {
        // Kept for the record, never made current: nothing the model wrote is lost.
        await tx.insert(sceneVersions).values({
          projectId,
          sceneNumber: scene.number,
          stage: step,
          text: proposal.text,
          words: countWords(proposal.text),
          note: `rejected: ${verdict.reason} (${verdict.detail})`,
        });
      }
      await tx.insert(revisionResults).values({
        projectId,
        step,
        sceneNumber: scene.number,
        outcome,
        reason: "declined" in proposal ? proposal.declined : verdict && !verdict.ok ? verdict.reason : null,
        detail: proposal.detail ?? null,
      });
    },
  });
  return outcome;
}

/** Waits for every task, then throws the first failure: one failed scene never cancels the others. */
async function settleAll<T>(tasks: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(tasks);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) throw failure.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

async function loadRevisionScenes(unit: Unit): Promise<RevisionScene[]> {
  const rows = await unit.deps.db
    .select({
      number: scenes.number,
      chapter: scenes.chapter,
      title: scenes.title,
      text: scenes.text,
      card: scenes.card,
    })
    .from(scenes)
    .where(and(eq(scenes.projectId, unit.project.id), isNotNull(scenes.text)))
    .orderBy(asc(scenes.number));
  const notes = new Map(
    (await chapterNotesOf(unit.deps.db, unit.project.id)).map((n) => [n.chapter, n.text]),
  );
  return rows.map((s, i, all) => ({
    ...s,
    text: s.text!,
    card: s.card as SceneCard,
    ...(notes.has(s.chapter) ? { authorNote: notes.get(s.chapter)! } : {}),
    // The neighbours as they stand, so a rewrite keeps the joins.
    ...(all[i - 1]?.number === s.number - 1 ? { before: lastWords(all[i - 1]!.text!, JOIN_WORDS) } : {}),
    ...(all[i + 1]?.number === s.number + 1 ? { after: truncateWords(all[i + 1]!.text!, JOIN_WORDS) } : {}),
  }));
}

/** Words of each neighbouring scene a rewrite sees. */
const JOIN_WORDS = 120;

function resultsFor(unit: Unit, step: string) {
  return unit.deps.db
    .select()
    .from(revisionResults)
    .where(and(eq(revisionResults.projectId, unit.project.id), eq(revisionResults.step, step)));
}

/** This stage's result rows, its steps included (`passes.dialogue`, `validate.repair-1`). */
async function stageRows(unit: Unit, stage: string) {
  const rows = await unit.deps.db
    .select()
    .from(revisionResults)
    .where(eq(revisionResults.projectId, unit.project.id));
  return rows.filter((r) => r.step === stage || r.step.startsWith(`${stage}.`));
}

function summarize(rows: { outcome: string }[]): string {
  const count = (o: string) => rows.filter((r) => r.outcome === o).length;
  if (rows.length === 0) return "Nothing to change.";
  const declined = count("declined") > 0 ? `, ${count("declined")} declined by the model` : "";
  return `${count("revised")} rewrites kept, ${count("rejected")} rejected by the guards${declined}, ${count("unchanged")} left as they were.`;
}
