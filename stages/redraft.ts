import { defineStage } from "./definition";
import { digestChapter, digestScene, draftScene, stablePrefix } from "./draft";

/** A side trip from the draft gate: one scene written again with the author's notes; the old text is kept. */
export const sceneRedraft = defineStage({
  id: "redraft",
  label: "Scene Redraft",
  kind: "scenes",
  needs: ["concept", "world", "characters", "outline"],
  scenes: "requested",
  prefix: stablePrefix,
  draft: draftScene,
  digest: (ctx, scene, text) => digestScene(ctx, scene, text, "redraft"),
  digestChapter,
});
