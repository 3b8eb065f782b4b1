import { describeHits, type LintReport } from "../src/text/lint";
import { type RevisionScene, rewriteScene } from "./rewrite";
import type { StageContext } from "./types";

/** Stage 10 — Humanize Voice: only scenes over the lint threshold are rewritten, with the flagged spans named. */
export function humanizeScene(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  lint: LintReport,
): Promise<string> {
  return rewriteScene(ctx, prefix, scene, "voice", "remove the machine-prose tics listed below", [
    "Rewrite each flagged span in plain, specific language in the book's voice; keep everything else as it is.",
    "Vary sentence openings; use em-dashes and lists of three sparingly.",
    `Flagged spans:\n${describeHits(lint, 20)}`,
  ]);
}
