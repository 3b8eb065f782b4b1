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
  present: ({ scenesDone, words, notedChapters }) => ({
    icon: "📝",
    title: `Draft complete: ${scenesDone} scenes, ${thousands(words)} words`,
    summary:
      notedChapters === 0
        ? ""
        : `${notedChapters === 1 ? "1 chapter has" : `${notedChapters} chapters have`} your notes: self-refinement reads them first for those chapters' scenes.`,
    lines: [],
    artifacts: [],
  }),
});
