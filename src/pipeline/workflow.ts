import { beatSheet } from "../../stages/beats";
import { characterProfiles } from "../../stages/characters";
import { highConcept } from "../../stages/concept";
import { continuityAudit } from "../../stages/continuity";
import type { GateStage, SceneLoopStage, StageDefinition } from "../../stages/definition";
import { delivery } from "../../stages/deliver";
import { sceneDrafting } from "../../stages/draft";
import { draftApproval } from "../../stages/draft-gate";
import { motifInfusion } from "../../stages/motifs";
import { masterOutline } from "../../stages/outline";
import { outlineApproval } from "../../stages/outline-gate";
import { outputValidation } from "../../stages/output-validation";
import { humanPasses } from "../../stages/passes";
import { sceneRedraft } from "../../stages/redraft";
import { selfRefinement } from "../../stages/refine";
import type { Plan, ProjectBrief } from "../../stages/types";
import { humanizeVoice } from "../../stages/voice";
import { worldModeling } from "../../stages/world";

/**
 * The novel, top to bottom. A project's `stage` column names the next unit to run; each stage moves to
 * the one below it when its last unit commits. Gates wait for the author; side trips leave a gate and
 * come back to it.
 */
export const WORKFLOW = [
  highConcept, //        1   title, logline, style guide, motifs
  worldModeling, //      2   setting, rules, places
  beatSheet, //          3   story beats with tension
  characterProfiles, //  4   the cast
  masterOutline, //      4B  N scenes in chapters, word budgets
  outlineApproval, //    5   gate: approve, or revise the outline with notes
  sceneDrafting, //      6   every scene in order, each saved as written
  draftApproval, //          gate: start revision, or redraft a scene (side trip)
  selfRefinement, //     7   critique, then revision
  continuityAudit, //    8   facts ledger audit, targeted fixes
  humanPasses, //        9   dialogue, pacing, sensory detail
  humanizeVoice, //      10  machine-prose tics rewritten where dense
  motifInfusion, //      11  planned motifs woven in where missing
  outputValidation, //   12  checks and bounded repair
  delivery, //               the manuscript to its author
] as const;

/** Stages reached only from a gate, which return to it when done. */
export const SIDE_TRIPS = [sceneRedraft] as const;

/** Where a project is once its book has been delivered. */
export const FINISHED = "done";

export type StageId = (typeof WORKFLOW)[number]["id"] | (typeof SIDE_TRIPS)[number]["id"] | typeof FINISHED;

/** The first position of every new project. */
export const FIRST_STAGE: StageId = WORKFLOW[0].id;

const MAIN_LINE: readonly StageDefinition[] = WORKFLOW;
const ALL: readonly StageDefinition[] = [...WORKFLOW, ...SIDE_TRIPS];

const IDS = new Set<string>([...ALL.map((s) => s.id), FINISHED]);

function isStageId(id: string): id is StageId {
  return IDS.has(id);
}

/** A stage's position, checked: only stages of this workflow have one. */
export function idOf(stage: StageDefinition): StageId {
  if (!isStageId(stage.id)) throw new Error(`stage ${stage.id} is not in the workflow`);
  return stage.id;
}

export function stageOf(id: string): StageDefinition | undefined {
  return ALL.find((s) => s.id === id);
}

export function stageLabel(id: string): string {
  return id === FINISHED ? "Done" : (stageOf(id)?.label ?? id);
}

/** The drafting prompt's cached opening, which every rewrite reuses. */
export function draftingPrefix(plan: Plan, project: ProjectBrief): string {
  const loop = MAIN_LINE.find((s): s is SceneLoopStage => s.kind === "scenes");
  if (!loop) throw new Error("the workflow has no scene loop");
  return loop.prefix(plan, project);
}

/** The gate a project at `id` waits at, if it is one. */
export function gateAt(id: string): GateStage | undefined {
  const stage = stageOf(id);
  return stage?.kind === "gate" ? stage : undefined;
}

/** The position after `id`: the next stage of the workflow, or the gate a side trip came from. */
export function nextStage(id: StageId): StageId {
  const from = gateOfSideTrip(id);
  if (from) return idOf(from);
  const index = MAIN_LINE.findIndex((s) => s.id === id);
  if (index < 0) throw new Error(`no stage after ${id}`);
  const next = MAIN_LINE[index + 1];
  return next ? idOf(next) : FINISHED;
}

function gateOfSideTrip(id: string): GateStage | undefined {
  return MAIN_LINE.find((s): s is GateStage => s.kind === "gate" && s.redrafts?.id === id);
}

/** The gate whose Revise… reruns a plan stage, and the gate a redraft leaves from. */
export function gateOffering(offer: "revises" | "redrafts"): GateStage | undefined {
  return MAIN_LINE.find((s): s is GateStage => s.kind === "gate" && s[offer] !== undefined);
}

/**
 * A plan stage whose artifacts the next gate presents with its buttons, so it is not posted twice
 * (the outline) when the project stops at that gate.
 */
export function presentedByNextGate(id: string): boolean {
  const index = MAIN_LINE.findIndex((s) => s.id === id);
  const next = MAIN_LINE[index + 1];
  return index >= 0 && next?.kind === "gate" && next.revises?.id === id;
}

/**
 * The positions before revision starts: planning, drafting, the draft gate and its side trips. The
 * author's chapter notes may be written, changed or removed only here; revision reads them.
 */
export const BEFORE_REVISION: readonly StageId[] = (() => {
  const gate = gateOffering("redrafts");
  const end = gate ? MAIN_LINE.indexOf(gate) : -1;
  if (end < 0) throw new Error("the workflow has no draft gate");
  return [...MAIN_LINE.slice(0, end + 1), ...SIDE_TRIPS].map(idOf);
})();
