import { defineStage } from "./definition";

/** The finished book handed to its author: the host decides how (a `.docx` in the thread, a file on disk). */
export const delivery = defineStage({
  id: "deliver",
  label: "Export",
  kind: "delivery",
  needs: [],
});
