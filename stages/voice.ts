import { describeHits, LINT_THRESHOLD, type LintReport, lintProse } from "../src/text/lint";
import { defineStage, everyScene, MANUSCRIPT_NEEDS } from "./definition";
import { type EditOutcome, editProposal, editScene, type RevisionScene } from "./rewrite";
import type { StageContext } from "./types";

/** Stage 10 — Humanize Voice: only scenes over the lint threshold are rewritten, with the flagged spans named. */
export function humanizeScene(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  lint: LintReport,
): Promise<EditOutcome> {
  return editScene(ctx, prefix, scene, "voice", "remove the machine-prose tics listed below", [
    "Replace the sentence around each flagged span with plain, specific language in the book's voice.",
    "Vary sentence openings; use em-dashes and lists of three sparingly.",
    `Flagged spans:\n${describeHits(lint, 20)}`,
  ]);
}

export const humanizeVoice = defineStage({
  id: "voice",
  label: "Humanize Voice",
  kind: "revision",
  needs: MANUSCRIPT_NEEDS,
  work: everyScene(async (run, s) => {
    const lint = lintProse(s.text);
    const before = { densityBefore: lint.density, words: lint.words };
    if (lint.density < LINT_THRESHOLD)
      return { unchanged: true, detail: { ...before, densityAfter: lint.density } };
    const outcome = await humanizeScene(run.ctx, run.prefix, s, lint);
    return editProposal(outcome, { ...before, densityAfter: lintProse(outcome.text ?? s.text).density });
  }),
});
