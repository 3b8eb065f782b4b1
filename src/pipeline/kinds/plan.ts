import { and, count, eq, like } from "drizzle-orm";
import { stageOutputs } from "../../../db/schema";
import type { PlanParts, PlanStage } from "../../../stages/definition";
import { need, type Plan } from "../../../stages/types";
import { insertStageOutput, loadPlan, recallOutput, replaceOutlineRows } from "../store";
import type { Tx } from "../transition";
import { commit, progress, stageContext, type Unit } from "../unit";
import { idOf, nextStage } from "../workflow";

/**
 * A planning stage is one unit: one artifact, stored with the project's move to the next stage. A stage
 * that asks for its artifact in parts stores each part as it arrives (see `planParts`).
 */
export async function runPlanStage(unit: Unit, stage: PlanStage): Promise<void> {
  const { deps, project } = unit;
  unit.memory.plan = undefined;
  unit.memory.prefix = undefined;
  const id = idOf(stage);
  deps.emit({ type: "stage_started", projectId: project.id, stage: id, label: stage.label });
  const plan = await loadPlan(deps.db, project.id);
  for (const key of stage.needs) need(plan, key);
  const output = await stage.run(stageContext(unit, plan), await planParts(unit, stage));
  const effects = stage.effects?.(output as never) ?? {};
  await commit(unit, {
    to: {
      stage: nextStage(id),
      ...(effects.title !== undefined ? { title: effects.title } : {}),
      ...(effects.notesUsed ? { revisionNotes: null } : {}),
    },
    write: async (tx) => {
      await insertStageOutput(tx, project.id, stage.produces, output as Plan[typeof stage.produces]);
      await dropParts(tx, project.id, stage);
      if (effects.outline) await replaceOutlineRows(tx, project.id, effects.outline);
    },
  });
  const snapshot = await progress(unit);
  deps.emit({
    type: "stage_finished",
    projectId: project.id,
    stage: id,
    label: stage.label,
    ...stage.present(output as never),
    progress: snapshot,
  });
}

/**
 * Parts are rows of `stage_outputs` named after the artifact, the run of the stage (how many of its
 * artifacts were stored before it: a revision is a new run) and the part, e.g. `outline#1:chapters`.
 * They are deleted with the commit of the artifact; the run in the name keeps a part left behind by one
 * run from ever being read by another.
 */
const partPrefix = (stage: PlanStage) => `${stage.produces}#`;

async function planParts(unit: Unit, stage: PlanStage): Promise<PlanParts> {
  const { db } = unit.deps;
  const projectId = unit.project.id;
  const [runs] = await db
    .select({ n: count() })
    .from(stageOutputs)
    .where(and(eq(stageOutputs.projectId, projectId), eq(stageOutputs.stage, stage.produces)));
  const key = (name: string) => `${partPrefix(stage)}${runs?.n ?? 0}:${name}`;
  return {
    recall: <T>(name: string) => recallOutput<T>(db, projectId, key(name)),
    remember: async (name, data) => {
      await commit(unit, { write: (tx) => insertStageOutput(tx, projectId, key(name), data) });
    },
    step: (now, done, total) => {
      progress(unit).then(
        (snapshot) =>
          unit.deps.emit({
            type: "stage_step",
            projectId,
            stage: idOf(stage),
            label: stage.label,
            progress: { ...snapshot, step: { done, total, now } },
          }),
        (error: unknown) => unit.deps.log.warn({ err: error, projectId }, "no stage progress"),
      );
    },
  };
}

async function dropParts(tx: Tx, projectId: number, stage: PlanStage): Promise<void> {
  await tx
    .delete(stageOutputs)
    .where(and(eq(stageOutputs.projectId, projectId), like(stageOutputs.stage, `${partPrefix(stage)}%`)));
}
