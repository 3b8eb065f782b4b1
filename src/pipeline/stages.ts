/**
 * The pipeline's positions, in order. A project's `stage` column names the next unit to run; a unit
 * either finishes a stage (planning, gates, delivery) or one scene of it (drafting).
 */
export const STAGES = [
  { id: "concept", label: "High Concept", kind: "plan" },
  { id: "world", label: "World Modeling", kind: "plan" },
  { id: "beats", label: "Beat Sheet", kind: "plan" },
  { id: "characters", label: "Character Profiles", kind: "plan" },
  { id: "outline", label: "Master Outline", kind: "plan" },
  { id: "outline_gate", label: "Outline approval", kind: "gate" },
  { id: "drafting", label: "Scene Drafting", kind: "scenes" },
  { id: "draft_gate", label: "Draft approval", kind: "gate" },
  { id: "redraft", label: "Scene Redraft", kind: "scenes" },
  { id: "refine", label: "Self-Refinement", kind: "revision" },
  { id: "continuity", label: "Continuity Audit", kind: "revision" },
  { id: "passes", label: "Human Passes", kind: "revision" },
  { id: "voice", label: "Humanize Voice", kind: "revision" },
  { id: "motifs", label: "Motif Infusion", kind: "revision" },
  { id: "validate", label: "Output Validation", kind: "revision" },
  { id: "deliver", label: "Export", kind: "deliver" },
  { id: "done", label: "Done", kind: "end" },
] as const;

export type StageId = (typeof STAGES)[number]["id"];
export type PlanStageId = Extract<(typeof STAGES)[number], { kind: "plan" }>["id"];
export type RevisionStageId = Extract<(typeof STAGES)[number], { kind: "revision" }>["id"];

export function stageLabel(id: string): string {
  return STAGES.find((s) => s.id === id)?.label ?? id;
}

/** The stage after `id` in the main line; `redraft` is a side trip that returns to the draft gate. */
export function nextStage(id: StageId): StageId {
  if (id === "redraft") return "draft_gate";
  if (id === "draft_gate") return "refine";
  const index = STAGES.findIndex((s) => s.id === id);
  const next = STAGES[index + 1];
  if (!next) throw new Error(`no stage after ${id}`);
  return next.id;
}

export function isRevisionStage(id: string): id is RevisionStageId {
  return STAGES.some((s) => s.id === id && s.kind === "revision");
}
