import type { DeliveryStage } from "../../../stages/definition";
import { commitMove } from "../transition";
import { progress, type Unit } from "../unit";
import { FINISHED } from "../workflow";

/**
 * The host hands the book over (a file, a thread), then the project is done. A pause that arrived
 * during the hand-over does not hold back a delivered book; a cancellation does.
 */
export async function deliverBook(unit: Unit, _stage: DeliveryStage): Promise<void> {
  const { deps, project } = unit;
  await deps.deliver(project, unit.signal);
  commitMove(deps.db, project.id, {
    from: ["running", "paused"],
    lease: unit.owner,
    to: { stage: FINISHED, status: "done" },
  });
  deps.emit({ type: "done", projectId: project.id, progress: progress(unit) });
}
