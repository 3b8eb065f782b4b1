import type { DeliveryStage } from "../../../stages/definition";
import { checkpoint, commit, progress, type Unit } from "../unit";
import { FINISHED } from "../workflow";

/**
 * The host hands the book over (a file, a thread), then the project is done — only if it is still
 * running: a pause or a cancellation that arrived during the hand-over stands, and the hand-over,
 * recorded by the host, is not repeated when the project is resumed.
 */
export async function deliverBook(unit: Unit, _stage: DeliveryStage): Promise<void> {
  const { deps, project } = unit;
  await checkpoint(unit);
  await deps.deliver(project, unit.signal);
  await commit(unit, { to: { stage: FINISHED, status: "done" } });
  deps.emit({ type: "done", projectId: project.id, progress: await progress(unit) });
}
