import type { Messages } from "../src/llm/types";
import { countWords } from "../src/text/words";
import { type SceneCard, sceneCardMarkdown } from "./outline";
import { callFor, type StageContext } from "./types";

/** A written scene as the revision stages see it. */
export interface RevisionScene {
  number: number;
  chapter: number;
  title: string;
  text: string;
  card: SceneCard;
}

/**
 * Every rewrite asks in the same shape: the drafting prefix first (so the prompt cache serves it
 * again), then the task, the card, the instructions and the scene. The target length is the scene's
 * own length: revisions improve a scene, they do not grow or shrink it.
 */
export function rewritePrompt(
  prefix: string,
  scene: RevisionScene,
  task: string,
  instructions: string[],
  targetWords = countWords(scene.text),
): Messages {
  return [
    { role: "system", content: prefix },
    {
      role: "user",
      content: [
        `Revise scene ${scene.number}: "${scene.title}" — ${task}`,
        `Target length: about ${targetWords} words.`,
        `This scene's card:\n${sceneCardMarkdown(scene.card)}`,
        `Instructions:\n${instructions.map((line) => `- ${line}`).join("\n")}`,
        `The scene:\n"""\n${scene.text}\n"""`,
        "Return the complete revised scene: only its prose, with no title, no notes and no commentary.",
      ].join("\n\n"),
    },
  ];
}

/** One rewrite; the caller's guard decides whether it replaces the scene. */
export async function rewriteScene(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  stage: string,
  task: string,
  instructions: string[],
  targetWords?: number,
): Promise<string> {
  const opts = {
    ...callFor(ctx, stage, "edit", "rewrite", scene.number),
    expectedWords: targetWords ?? countWords(scene.text),
    acceptIncomplete: true,
  };
  const prompt = ctx.llm.firstThatFits([rewritePrompt(prefix, scene, task, instructions, targetWords)], opts);
  const { value } = await ctx.llm.prose(prompt, opts);
  return value;
}
