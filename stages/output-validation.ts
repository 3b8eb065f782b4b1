import {
  type CheckId,
  findingsFor,
  REPETITION_CHECKS,
  validateManuscript,
} from "../src/text/manuscript-checks";
import { countWords } from "../src/text/words";
import { correctNames } from "./continuity";
import { defineStage, MANUSCRIPT_NEEDS } from "./definition";
import { editProposal, editScene, type RevisionScene, rewriteScene } from "./rewrite";
import { need, type StageContext } from "./types";

/** Rounds of automatic repair in stage 12 before what still fails is reported. */
export const REPAIR_ROUNDS = 2;

/** Checks whose repair changes a few named sentences of the scene, not the scene as a whole. */
const REPETITION_ONLY = new Set<CheckId>(REPETITION_CHECKS);
const REPETITION_TASK = "make the sentences quoted below its own, unlike the other scenes'";

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
  // Repetition across the book: only the words named below change; the rest of the scene stays as written.
  if (failed.includes("openings"))
    lines.push("Give the scene a first sentence of its own, unlike the other scene's opening quoted below.");
  if (failed.includes("closings"))
    lines.push("Give the scene a last sentence of its own, unlike the other scene's ending quoted below.");
  if (failed.includes("repeated_phrases"))
    lines.push("Reword each phrase quoted below wherever this scene uses it; other scenes already use it.");
  if (failed.includes("tics"))
    lines.push(
      "Give the character a different gesture, or none, where this scene repeats the one quoted below.",
    );
  if (failed.length > 0 && failed.every((check) => REPETITION_ONLY.has(check)))
    lines.push(
      "Change only those words and the sentences they sit in; leave every other sentence exactly as it is.",
    );
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

export const outputValidation = defineStage({
  id: "validate",
  label: "Output Validation",
  kind: "validation",
  needs: MANUSCRIPT_NEEDS,
  work: async (run) => {
    const plan = run.ctx.plan;
    const cast = need(plan, "characters").characters.map((c) => c.name);
    const motifs = need(plan, "concept").motifs.map((m) => m.name);
    for (let round = 1; round <= REPAIR_ROUNDS; round++) {
      const result = validateManuscript({
        scenes: (await run.scenes()).map((s) => ({
          number: s.number,
          chapter: s.chapter,
          title: s.title,
          text: s.text,
          targetWords: s.card.targetWords,
          motifCues: s.card.motifCues,
        })),
        bookTargetWords: run.ctx.project.targetWords,
        cast,
        motifs,
      });
      const step = `${run.stage}.repair-${round}`;
      if (result.failing.size === 0 && !(await run.hasResults(step))) return;
      await run.reviseEach(
        step,
        (s) => result.failing.has(s.number),
        async (s) => {
          const failed = result.failing.get(s.number) ?? [];
          const details = findingsFor(result, s.number);
          if (failed.length === 1 && failed[0] === "names")
            return { text: correctNames(s.text, cast), detail: { failed } };
          // Repetition across the book is a few sentences of the scene: they are edited, the rest kept.
          if (failed.every((check) => REPETITION_ONLY.has(check))) {
            const instructions = repairInstructions(s, failed, details);
            const edited = await editScene(run.ctx, run.prefix, s, "validate", REPETITION_TASK, instructions);
            return editProposal(edited, { failed });
          }
          return { text: await repairScene(run.ctx, run.prefix, s, failed, details), detail: { failed } };
        },
      );
    }
  },
});
