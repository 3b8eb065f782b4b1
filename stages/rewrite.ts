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
  /** The previous scene's last words and the next scene's first, as they stand. */
  before?: string;
  after?: string;
}

/**
 * Every rewrite asks in the same shape: the drafting prefix first (so the prompt cache serves it
 * again), then the task, the card, the instructions, the neighbouring scenes' joins and the scene. The
 * target length is the scene's own length or its card's target, whichever is more: a revision must not
 * shrink the book.
 */
export function rewritePrompt(
  prefix: string,
  scene: RevisionScene,
  task: string,
  instructions: string[],
  targetWords = rewriteTarget(scene),
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
        ...(scene.before ? [`The previous scene ends:\n"""\n${scene.before}\n"""`] : []),
        ...(scene.after ? [`The next scene opens:\n"""\n${scene.after}\n"""`] : []),
        ...(scene.before || scene.after
          ? [
              "Keep the joins: the scene still follows from how the previous one ends and leads into how the next one opens.",
            ]
          : []),
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
    expectedWords: targetWords ?? rewriteTarget(scene),
    acceptIncomplete: true,
  };
  const prompt = ctx.llm.firstThatFits([rewritePrompt(prefix, scene, task, instructions, targetWords)], opts);
  const { value } = await ctx.llm.prose(prompt, opts);
  return value;
}

/** What a rewrite aims at: the scene's length, or its card's target when the draft came in short. */
export function rewriteTarget(scene: RevisionScene): number {
  return Math.max(countWords(scene.text), scene.card.targetWords);
}
