import type { GateStage } from "../../../stages/definition";
import { commit, progress, type Unit } from "../unit";
import { idOf, nextStage } from "../workflow";

/** Arriving at a gate: passed at once with `autoApprove`, otherwise the project waits for its author. */
export async function arriveAtGate(unit: Unit, gate: GateStage): Promise<void> {
  const id = idOf(gate);
  if (unit.project.autoApprove) {
    await commit(unit, { to: { stage: nextStage(id) } });
    return;
  }
  await commit(unit, { to: { stage: id, status: "waiting" } });
  unit.deps.emit({ type: "gate", projectId: unit.project.id, stage: id, progress: await progress(unit) });
}
