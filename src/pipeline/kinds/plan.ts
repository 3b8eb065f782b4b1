import { and, count, desc, eq, like } from "drizzle-orm";
import { stageOutputs } from "../../../db/schema";
import type { PlanParts, PlanStage } from "../../../stages/definition";
import { need, type Plan } from "../../../stages/types";
import { insertStageOutput, loadPlan, replaceOutlineRows } from "../store";
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
  const plan = loadPlan(deps.db, project.id);
  for (const key of stage.needs) need(plan, key);
  const output = await stage.run(stageContext(unit, plan), planParts(unit, stage));
  const effects = stage.effects?.(output as never) ?? {};
  commit(unit, {
    to: {
      stage: nextStage(id),
      ...(effects.title !== undefined ? { title: effects.title } : {}),
      ...(effects.notesUsed ? { revisionNotes: null } : {}),
    },
    write: (tx) => {
      insertStageOutput(tx, project.id, stage.produces, output as Plan[typeof stage.produces]);
      dropParts(tx, project.id, stage);
      if (effects.outline) replaceOutlineRows(tx, project.id, effects.outline);
    },
  });
  deps.emit({
    type: "stage_finished",
    projectId: project.id,
    stage: id,
    label: stage.label,
    ...stage.present(output as never),
    progress: progress(unit),
  });
}

/**
 * Parts are rows of `stage_outputs` named after the artifact, the run of the stage (how many of its
 * artifacts were stored before it: a revision is a new run) and the part, e.g. `outline#1:chapters`.
 * They are deleted with the commit of the artifact; the run in the name keeps a part left behind by one
 * run from ever being read by another.
 */
const partPrefix = (stage: PlanStage) => `${stage.produces}#`;

function planParts(unit: Unit, stage: PlanStage): PlanParts {
  const { db } = unit.deps;
  const projectId = unit.project.id;
  const earlierRuns =
    db
      .select({ n: count() })
      .from(stageOutputs)
      .where(and(eq(stageOutputs.projectId, projectId), eq(stageOutputs.stage, stage.produces)))
      .get()?.n ?? 0;
  const key = (name: string) => `${partPrefix(stage)}${earlierRuns}:${name}`;
  return {
    recall: <T>(name: string) =>
      db
        .select({ data: stageOutputs.data })
        .from(stageOutputs)
        .where(and(eq(stageOutputs.projectId, projectId), eq(stageOutputs.stage, key(name))))
        .orderBy(desc(stageOutputs.id))
        .get()?.data as T | undefined,
    remember: (name, data) => {
      commit(unit, { write: (tx) => insertStageOutput(tx, projectId, key(name), data) });
    },
    step: (now, done, total) =>
      unit.deps.emit({
        type: "stage_step",
        projectId,
        stage: idOf(stage),
        label: stage.label,
        progress: { ...progress(unit), step: { done, total, now } },
      }),
  };
}

function dropParts(tx: Tx, projectId: number, stage: PlanStage): void {
  tx.delete(stageOutputs)
    .where(and(eq(stageOutputs.projectId, projectId), like(stageOutputs.stage, `${partPrefix(stage)}%`)))
    .run();
}
