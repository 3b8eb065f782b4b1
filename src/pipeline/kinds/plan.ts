import type { PlanStage } from "../../../stages/definition";
import { need, type Plan } from "../../../stages/types";
import { insertStageOutput, loadPlan, replaceOutlineRows } from "../store";
import { commit, progress, stageContext, type Unit } from "../unit";
import { idOf, nextStage } from "../workflow";

/** A planning stage is one unit: one artifact, stored with the project's move to the next stage. */
export async function runPlanStage(unit: Unit, stage: PlanStage): Promise<void> {
  const { deps, project } = unit;
  unit.memory.plan = undefined;
  unit.memory.prefix = undefined;
  const id = idOf(stage);
  deps.emit({ type: "stage_started", projectId: project.id, stage: id, label: stage.label });
  const plan = loadPlan(deps.db, project.id);
  for (const key of stage.needs) need(plan, key);
  const output = await stage.run(stageContext(unit, plan));
  const effects = stage.effects?.(output as never) ?? {};
  commit(unit, {
    to: {
      stage: nextStage(id),
      ...(effects.title !== undefined ? { title: effects.title } : {}),
      ...(effects.notesUsed ? { revisionNotes: null } : {}),
    },
    write: (tx) => {
      insertStageOutput(tx, project.id, stage.produces, output as Plan[typeof stage.produces]);
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
