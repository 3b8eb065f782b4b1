import type { Db } from "../../db/client";
import type { Project } from "../../db/schema";
import type { StageDefinition } from "../../stages/definition";
import { deliverBook } from "./kinds/delivery";
import { arriveAtGate } from "./kinds/gate";
import { runPlanStage } from "./kinds/plan";
import { runRevisionStage } from "./kinds/revision";
import { describeSceneUnit, runSceneUnit } from "./kinds/scenes";
import { checkpoint, type Unit } from "./unit";
import { stageOf } from "./workflow";

/** How each kind of stage runs one unit; the stage definition supplies what is its own. */
const KINDS: {
  [K in StageDefinition["kind"]]: (unit: Unit, stage: Extract<StageDefinition, { kind: K }>) => Promise<void>;
} = {
  plan: runPlanStage,
  gate: arriveAtGate,
  scenes: runSceneUnit,
  revision: runRevisionStage,
  validation: runRevisionStage,
  delivery: deliverBook,
};

/**
 * Runs the project's next unit and commits it. Returns normally whether the project moved on,
 * reached a gate or finished; throws when the unit failed (the scheduler decides about retries).
 */
export async function runUnit(unit: Unit): Promise<void> {
  const stage = stageOf(unit.project.stage);
  // A running project at no stage of this workflow is a fault to report, not a unit to skip forever.
  if (!stage)
    throw new Error(`project ${unit.project.id} is at "${unit.project.stage}", which is not a stage`);
  // A delivery costs nothing: the budget never holds back a finished book.
  if (stage.kind !== "delivery") await checkpoint(unit);
  await (KINDS[stage.kind] as (unit: Unit, stage: StageDefinition) => Promise<void>)(unit, stage);
}

/** The unit a project is at, in the author's words, for retry notices and needs-attention messages. */
export async function describeUnit(db: Db, project: Project): Promise<string> {
  const stage = stageOf(project.stage);
  if (!stage) return project.stage;
  return stage.kind === "scenes" ? describeSceneUnit(db, project, stage) : stage.label;
}
