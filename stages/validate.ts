import type { CheckId } from "../src/text/validate";
import { countWords } from "../src/text/words";
import { type RevisionScene, rewriteScene } from "./rewrite";
import type { StageContext } from "./types";

/** Stage 12 — Output Validation: a failing scene goes back through a rewrite aimed at what failed. */
export function repairInstructions(scene: RevisionScene, failed: CheckId[], details: string[]): string[] {
  const words = countWords(scene.text);
  const lines: string[] = [];
  if (failed.includes("length")) {
    lines.push(
      words < scene.card.targetWords
        ? `Deepen the scene towards ${scene.card.targetWords} words: more concrete action and texture, no padding.`
        : `Tighten the scene towards ${scene.card.targetWords} words: cut repetition and summary.`,
    );
  }
  if (failed.includes("meta"))
    lines.push("Remove every note, heading, label or marker: only the story's prose may remain.");
  if (failed.includes("ending")) lines.push("End the scene with a complete sentence at a natural break.");
  if (failed.includes("repeated_paragraph"))
    lines.push("Rewrite any paragraph that repeats another scene's word for word.");
  if (failed.includes("lint"))
    lines.push("Replace stock phrases and machine-prose tics with plain, specific language.");
  if (failed.includes("motifs")) lines.push("Let the motifs the card plans appear by name, lightly.");
  return [...lines, ...details.map((d) => `Check failed: ${d}`)];
}

export function repairScene(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  failed: CheckId[],
  details: string[],
): Promise<string> {
  const words = countWords(scene.text);
  // Towards the card's target, within what the rewrite guard accepts.
  const target = failed.includes("length")
    ? Math.round(Math.min(Math.max(scene.card.targetWords, words * 0.88), words * 1.25))
    : words;
  return rewriteScene(
    ctx,
    prefix,
    scene,
    "validate",
    "repair what failed validation",
    repairInstructions(scene, failed, details),
    target,
  );
}
