import { sceneLoop } from "./draft";

/** A side trip from the draft gate: one scene written again with the author's notes; the old text is kept. */
export const sceneRedraft = sceneLoop("redraft", "Scene Redraft", "requested");
