import { motifForCue, motifPresent } from "../src/text/motifs";
import { defineStage, MANUSCRIPT_NEEDS } from "./definition";
import { type EditOutcome, editProposal, editScene, type RevisionScene } from "./rewrite";
import { need, type StageContext } from "./types";

/** Stage 11 — Motif Infusion: the motifs a scene's card plans, checked in its text; missing ones woven in lightly. */
export function plannedMotifs(scene: RevisionScene, motifs: string[]): { motif: string; cue: string }[] {
  return scene.card.motifCues.flatMap((cue) => {
    const motif = motifForCue(cue, motifs);
    return motif ? [{ motif, cue }] : [];
  });
}

export function missingMotifs(scene: RevisionScene, motifs: string[]): { motif: string; cue: string }[] {
  return plannedMotifs(scene, motifs).filter((m) => !motifPresent(scene.text, m.motif));
}

export function weaveMotifs(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  missing: { motif: string; cue: string }[],
): Promise<EditOutcome> {
  return editScene(ctx, prefix, scene, "motifs", "weave in the planned motifs lightly", [
    ...missing.map((m) => `Let "${m.motif}" appear, by name, as the outline plans: ${m.cue}`),
    "One or two touches each, folded into existing action or description; change nothing else.",
  ]);
}

export const motifInfusion = defineStage({
  id: "motifs",
  label: "Motif Infusion",
  kind: "revision",
  needs: MANUSCRIPT_NEEDS,
  work: (run) => {
    const motifs = need(run.ctx.plan, "concept").motifs.map((m) => m.name);
    return run.reviseEach(
      run.stage,
      () => true,
      async (s) => {
        const missing = missingMotifs(s, motifs);
        if (missing.length === 0) return { unchanged: true };
        const outcome = await weaveMotifs(run.ctx, run.prefix, s, missing);
        return editProposal(outcome, { missing: missing.map((m) => m.motif) });
      },
    );
  },
});
