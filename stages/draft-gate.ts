import { thousands } from "../src/text/format";
import { defineStage } from "./definition";
import { sceneRedraft } from "./redraft";

/** The draft gate: the author reads the draft, redrafts scenes with notes, then starts revision. */
export const draftApproval = defineStage({
  id: "draft_gate",
  label: "Draft approval",
  kind: "gate",
  needs: [],
  subject: "draft",
  approved: "revision and export start",
  redrafts: sceneRedraft,
  present: ({ scenesDone, words }) => ({
    icon: "📝",
    title: `Draft complete: ${scenesDone} scenes, ${thousands(words)} words`,
    summary: "",
    lines: [],
    artifacts: [],
  }),
});
