import { and, asc, desc, eq, isNotNull } from "drizzle-orm";
import pLimit from "p-limit";
import type { Project } from "../../db/schema";
import { revisionResults, scenes, sceneVersions, stageOutputs } from "../../db/schema";
import {
  AUDIT_WINDOW_CHAPTERS,
  auditWindow,
  type ContinuityIssue,
  correctNames,
  fixContinuity,
  nameIssues,
} from "../../stages/continuity";
import { stablePrefix } from "../../stages/draft";
import { missingMotifs, weaveMotifs } from "../../stages/motifs";
import type { SceneCard } from "../../stages/outline";
import { EDITOR_PASSES, editorPass } from "../../stages/passes";
import { refineScene } from "../../stages/refine";
import type { RevisionScene } from "../../stages/rewrite";
import { need, type StageContext } from "../../stages/types";
import { repairScene } from "../../stages/validate";
import { humanizeScene } from "../../stages/voice";
import { LINT_THRESHOLD, lintProse } from "../text/lint";
import { validateManuscript } from "../text/validate";
import { countWords } from "../text/words";
import { checkRewrite } from "./guards";
import { checkpoint, type PipelineDeps, type WorkerMemory } from "./runner";
import { nextStage, type RevisionStageId, stageLabel } from "./stages";
import { commitLeased, commitUnit, insertStageOutput, loadPlan, progressOf, writeSceneText } from "./store";

/** What a revision step proposes for one scene: a new text for the guard to judge, or no change. */
type Proposal =
  | { text: string; detail?: Record<string, unknown> }
  | { unchanged: true; detail?: Record<string, unknown> };

/** Rounds of automatic repair in stage 12 before what still fails is reported. */
export const REPAIR_ROUNDS = 2;

interface RevisionRun {
  deps: PipelineDeps;
  project: Project;
  owner: string;
  ctx: StageContext;
  prefix: string;
  stage: RevisionStageId;
}

/**
 * Runs one revision stage over every scene with bounded concurrency. Each scene's result is committed
 * as it arrives, with a row in `revision_results`, so a crash resumes at the scenes not yet handled;
 * one failed scene never cancels the others. The stage advances once every scene has a result.
 */
export async function runRevisionStage(
  deps: PipelineDeps,
  project: Project,
  owner: string,
  signal: AbortSignal,
  memory: WorkerMemory,
  stage: RevisionStageId,
): Promise<void> {
  memory.plan ??= loadPlan(deps.db, project.id);
  memory.prefix ??= stablePrefix(memory.plan);
  const run: RevisionRun = {
    deps,
    project,
    owner,
    stage,
    prefix: memory.prefix,
    ctx: { project, plan: memory.plan, llm: deps.llm, signal },
  };
  if (stageRows(run).length === 0) {
    deps.emit({ type: "stage_started", projectId: project.id, stage, label: stageLabel(stage) });
  }
  await STAGE_WORK[stage](run);
  commitUnit(deps.db, project, owner, nextStage(stage), () => {});
  deps.emit({
    type: "stage_finished",
    projectId: project.id,
    stage,
    label: stageLabel(stage),
    summary: summarize(run),
    artifacts: [],
    progress: progressOf(deps.db, project, 0),
  });
}

const STAGE_WORK: Record<RevisionStageId, (run: RevisionRun) => Promise<void>> = {
  refine: (run) =>
    reviseEach(
      run,
      "refine",
      () => true,
      (s) => refineScene(run.ctx, run.prefix, s).then((text) => ({ text })),
    ),
  continuity: continuityStage,
  passes: async (run) => {
    for (const pass of EDITOR_PASSES) {
      await reviseEach(
        run,
        `passes.${pass}`,
        () => true,
        (s) => editorPass(run.ctx, run.prefix, s, pass).then((text) => ({ text })),
      );
    }
  },
  voice: (run) =>
    reviseEach(
      run,
      "voice",
      () => true,
      async (s) => {
        const lint = lintProse(s.text);
        const before = { densityBefore: lint.density, words: lint.words };
        if (lint.density < LINT_THRESHOLD)
          return { unchanged: true, detail: { ...before, densityAfter: lint.density } };
        const text = await humanizeScene(run.ctx, run.prefix, s, lint);
        return { text, detail: { ...before, densityAfter: lintProse(text).density } };
      },
    ),
  motifs: (run) => {
    const motifs = need(run.ctx.plan, "concept").motifs.map((m) => m.name);
    return reviseEach(
      run,
      "motifs",
      () => true,
      async (s) => {
        const missing = missingMotifs(s, motifs);
        if (missing.length === 0) return { unchanged: true };
        return {
          text: await weaveMotifs(run.ctx, run.prefix, s, missing),
          detail: { missing: missing.map((m) => m.motif) },
        };
      },
    );
  },
  validate: validateStage,
};

async function continuityStage(run: RevisionRun): Promise<void> {
  const issues = await continuityAudit(run);
  const cast = need(run.ctx.plan, "characters").characters.map((c) => c.name);
  const byScene = new Map<number, ContinuityIssue[]>();
  for (const issue of issues) byScene.set(issue.scene, [...(byScene.get(issue.scene) ?? []), issue]);
  await reviseEach(
    run,
    "continuity",
    (s) => byScene.has(s.number),
    async (s) => {
      const mine = byScene.get(s.number) ?? [];
      const named = { ...s, text: correctNames(s.text, cast) };
      const contradictions = mine.filter((i) => i.kind === "contradiction");
      const detail = { issues: mine.map((i) => i.problem) };
      if (contradictions.length === 0)
        return named.text === s.text ? { unchanged: true, detail } : { text: named.text, detail };
      return { text: await fixContinuity(run.ctx, run.prefix, named, contradictions), detail };
    },
  );
}

/**
 * The audit is stored before any fix, so a resumed stage fixes what was found rather than auditing
 * again; each window's findings are stored as they arrive, so a failed window is the only one asked again.
 */
async function continuityAudit(run: RevisionRun): Promise<ContinuityIssue[]> {
  const stored = latestOutput(run, "continuity_audit");
  if (stored) return (stored as { issues: ContinuityIssue[] }).issues;
  const all = loadRevisionScenes(run);
  const digests = new Map(
    run.deps.db
      .select({ number: scenes.number, summary: scenes.summary, facts: scenes.facts })
      .from(scenes)
      .where(eq(scenes.projectId, run.project.id))
      .all()
      .map((r) => [r.number, r]),
  );
  const chapters = [...new Set(all.map((s) => s.chapter))].sort((a, b) => a - b);
  const windows: number[][] = [];
  for (let i = 0; i < chapters.length; i += AUDIT_WINDOW_CHAPTERS) {
    windows.push(chapters.slice(i, i + AUDIT_WINDOW_CHAPTERS));
  }
  const limit = pLimit(run.deps.config.FOLIO_REFINE_CONCURRENCY);
  const found = await settleAll(
    windows.map((window) =>
      limit(async () => {
        const key = `continuity_audit.chapters-${window.join("-")}`;
        const done = latestOutput(run, key);
        if (done) return (done as { issues: ContinuityIssue[] }).issues;
        const issues = await auditWindow(run.ctx, {
          chapters: window,
          earlierFacts: all
            .filter((s) => s.chapter < window[0]!)
            .flatMap((s) => digests.get(s.number)?.facts ?? [])
            .slice(-60),
          scenes: all
            .filter((s) => window.includes(s.chapter))
            .map((s) => ({
              number: s.number,
              title: s.title,
              summary: digests.get(s.number)?.summary ?? s.card.summary,
              facts: digests.get(s.number)?.facts ?? [],
            })),
        });
        commitLeased(run.deps.db, run.project.id, run.owner, {}, (tx) =>
          insertStageOutput(tx, run.project.id, key, { issues }),
        );
        return issues;
      }),
    ),
  );
  const cast = need(run.ctx.plan, "characters").characters.map((c) => c.name);
  const issues = [...found.flat(), ...all.flatMap((s) => nameIssues(s, cast))];
  commitLeased(run.deps.db, run.project.id, run.owner, {}, (tx) =>
    insertStageOutput(tx, run.project.id, "continuity_audit", { issues }),
  );
  return issues;
}

function latestOutput(run: RevisionRun, stage: string): unknown {
  return run.deps.db
    .select({ data: stageOutputs.data })
    .from(stageOutputs)
    .where(and(eq(stageOutputs.projectId, run.project.id), eq(stageOutputs.stage, stage)))
    .orderBy(desc(stageOutputs.id))
    .get()?.data;
}

async function validateStage(run: RevisionRun): Promise<void> {
  const plan = run.ctx.plan;
  const cast = need(plan, "characters").characters.map((c) => c.name);
  const motifs = need(plan, "concept").motifs.map((m) => m.name);
  for (let round = 1; round <= REPAIR_ROUNDS; round++) {
    const current = loadRevisionScenes(run);
    const result = validateManuscript({
      scenes: current.map((s) => ({
        number: s.number,
        chapter: s.chapter,
        title: s.title,
        text: s.text,
        targetWords: s.card.targetWords,
        motifCues: s.card.motifCues,
      })),
      bookTargetWords: run.project.targetWords,
      cast,
      motifs,
    });
    const step = `validate.repair-${round}`;
    if (result.failing.size === 0 && !hasResults(run, step)) return;
    await reviseEach(
      run,
      step,
      (s) => result.failing.has(s.number),
      async (s) => {
        const failed = result.failing.get(s.number) ?? [];
        const details = result.results.filter((r) => r.scene === s.number && !r.ok).map((r) => r.detail);
        if (failed.length === 1 && failed[0] === "names")
          return { text: correctNames(s.text, cast), detail: { failed } };
        return { text: await repairScene(run.ctx, run.prefix, s, failed, details), detail: { failed } };
      },
    );
  }
}

/**
 * The bounded, resumable loop over scenes for one step. Scenes that already have a result for the
 * step are skipped; the rest run `FOLIO_REFINE_CONCURRENCY` at a time; all of them are given their
 * chance before the first failure, if any, is thrown.
 */
async function reviseEach(
  run: RevisionRun,
  step: string,
  include: (scene: RevisionScene) => boolean,
  propose: (scene: RevisionScene) => Promise<Proposal>,
): Promise<void> {
  const chosen = loadRevisionScenes(run).filter(include);
  const done = new Set(resultsFor(run, step).map((r) => r.sceneNumber));
  const todo = chosen.filter((s) => !done.has(s.number));
  const limit = pLimit(run.deps.config.FOLIO_REFINE_CONCURRENCY);
  let finished = chosen.length - todo.length;
  const started = Date.now();
  let doneHere = 0;
  await settleAll(
    todo.map((scene) =>
      limit(async () => {
        run.ctx.signal.throwIfAborted();
        checkpoint(run.deps, run.project.id);
        const proposal = await propose(scene);
        const outcome = commitProposal(run, step, scene, proposal);
        finished += 1;
        doneHere += 1;
        const eta = Math.round(((Date.now() - started) / doneHere) * (chosen.length - finished));
        run.deps.emit({
          type: "scene_revised",
          projectId: run.project.id,
          stage: run.stage,
          label: stageLabel(run.stage),
          scene: scene.number,
          outcome,
          done: finished,
          total: chosen.length,
          progress: progressOf(run.deps.db, run.project, eta),
        });
      }),
    ),
  );
}

/** Judges a proposal with the rewrite guard and stores the outcome with the scene's new text, if any. */
function commitProposal(run: RevisionRun, step: string, scene: RevisionScene, proposal: Proposal) {
  const { project } = run;
  const verdict = "text" in proposal ? checkRewrite(scene.text, proposal.text) : undefined;
  const outcome = !verdict ? "unchanged" : verdict.ok ? "revised" : "rejected";
  commitLeased(run.deps.db, project.id, run.owner, {}, (tx) => {
    if ("text" in proposal && verdict?.ok) writeSceneText(tx, project.id, scene.number, step, proposal.text);
    if ("text" in proposal && verdict && !verdict.ok) {
      // Kept for the record, never made current: nothing the model wrote is lost.
      tx.insert(sceneVersions)
        .values({
          projectId: project.id,
          sceneNumber: scene.number,
          stage: step,
          text: proposal.text,
          words: countWords(proposal.text),
          note: `rejected: ${verdict.reason} (${verdict.detail})`,
        })
        .run();
    }
    tx.insert(revisionResults)
      .values({
        projectId: project.id,
        step,
        sceneNumber: scene.number,
        outcome,
        reason: verdict && !verdict.ok ? verdict.reason : null,
        detail: proposal.detail ?? null,
      })
      .run();
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

function loadRevisionScenes(run: RevisionRun): RevisionScene[] {
  return run.deps.db
    .select({
      number: scenes.number,
      chapter: scenes.chapter,
      title: scenes.title,
      text: scenes.text,
      card: scenes.card,
    })
    .from(scenes)
    .where(and(eq(scenes.projectId, run.project.id), isNotNull(scenes.text)))
    .orderBy(asc(scenes.number))
    .all()
    .map((s) => ({ ...s, text: s.text!, card: s.card as SceneCard }));
}

function resultsFor(run: RevisionRun, step: string) {
  return run.deps.db
    .select()
    .from(revisionResults)
    .where(and(eq(revisionResults.projectId, run.project.id), eq(revisionResults.step, step)))
    .all();
}

function hasResults(run: RevisionRun, step: string): boolean {
  return resultsFor(run, step).length > 0;
}

/** This stage's result rows, its steps included (`passes.dialogue`, `validate.repair-1`). */
function stageRows(run: RevisionRun) {
  return run.deps.db
    .select()
    .from(revisionResults)
    .where(eq(revisionResults.projectId, run.project.id))
    .all()
    .filter((r) => r.step === run.stage || r.step.startsWith(`${run.stage}.`));
}

function summarize(run: RevisionRun): string {
  const rows = stageRows(run);
  const count = (o: string) => rows.filter((r) => r.outcome === o).length;
  if (rows.length === 0) return "Nothing to change.";
  return `${count("revised")} rewrites kept, ${count("rejected")} rejected by the guards, ${count("unchanged")} left as they were.`;
}
