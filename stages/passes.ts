import { defineStage, MANUSCRIPT_NEEDS } from "./definition";
import { type RevisionScene, rewriteScene } from "./rewrite";
import type { StageContext } from "./types";

/** Stage 9 — Human Passes: three editor passes per scene, each a guarded rewrite of its own. */
export const EDITOR_PASSES = ["dialogue", "pacing", "sensory"] as const;
export type EditorPass = (typeof EDITOR_PASSES)[number];

function instructionsFor(pass: EditorPass, scene: RevisionScene): string[] {
  switch (pass) {
    case "dialogue":
      return [
        "Give every speaker the voice described in the cast: their rhythm, vocabulary and habits.",
        "Put subtext under the lines: people rarely say exactly what they want.",
        "Cut dialogue that only delivers information the reader already has.",
      ];
    case "pacing":
      return [
        `This scene serves the beat "${scene.card.beat}" at tension ${scene.card.tension}/10.`,
        scene.card.tension >= 7
          ? "Quicken it: shorter sentences and paragraphs, fewer pauses for reflection."
          : "Let it breathe: room for reflection and texture, without losing the scene's turn.",
        "Make sure the outcome lands at the end of the scene.",
      ];
    case "sensory":
      return [
        "Ground each beat in concrete detail: sound, smell, texture, temperature, light.",
        `Use the place, ${scene.card.place}, as the world describes it.`,
        "Replace abstractions and stated emotions with physical specifics.",
      ];
  }
}

export function editorPass(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  pass: EditorPass,
): Promise<string> {
  return rewriteScene(ctx, prefix, scene, "passes", `${pass} pass`, instructionsFor(pass, scene));
}

export const humanPasses = defineStage({
  id: "passes",
  label: "Human Passes",
  kind: "revision",
  needs: MANUSCRIPT_NEEDS,
  work: async (run) => {
    for (const pass of EDITOR_PASSES) {
      await run.reviseEach(
        `${run.stage}.${pass}`,
        () => true,
        // The sensory pass adds texture; the others keep the scene about as long as it is.
        (s) =>
          editorPass(run.ctx, run.prefix, s, pass).then((text) => ({
            text,
            direction: pass === "sensory" ? ("deepen" as const) : ("keep" as const),
          })),
      );
    }
  },
});
