import { z } from "zod";
import type { Messages } from "../src/llm/types";
import { applyEdits, type EditRejection } from "../src/text/edits";
import { countWords } from "../src/text/words";
import type { Proposal } from "./definition";
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
  /** The author's note on the scene's chapter, written before revision started. */
  authorNote?: string;
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

export const SceneEditsSchema = z.object({
  edits: z
    .array(
      z.object({
        find: z
          .string()
          .describe("words copied exactly from the scene, a whole clause or sentence, found only once in it"),
        replace: z.string().describe("what goes in their place"),
        reason: z.string().describe("the problem this fixes, in a few words"),
      }),
    )
    .max(12),
});

/** What a surgical pass did to a scene: its new text, or none when no edit could be applied. */
export interface EditOutcome {
  text: string | null;
  applied: number;
  rejected: { find: string; why: EditRejection }[];
}

/**
 * A local fix made as surgical edits rather than a whole-scene rewrite: the model names the exact words
 * to replace and what replaces them; code applies each edit whose words occur exactly once and leaves
 * everything else byte for byte. Edits that do not match, or match more than once, are rejected.
 */
export async function editScene(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  stage: string,
  task: string,
  instructions: string[],
): Promise<EditOutcome> {
  const { value } = await ctx.llm.structured(
    SceneEditsSchema,
    "scene_edits",
    [
      { role: "system", content: prefix },
      {
        role: "user",
        content: [
          `Edit scene ${scene.number}: "${scene.title}" — ${task}`,
          `This scene's card:\n${sceneCardMarkdown(scene.card)}`,
          `Instructions:\n${instructions.map((line) => `- ${line}`).join("\n")}`,
          `The scene:\n"""\n${scene.text}\n"""`,
          "Answer with edits, not a new scene: for each, `find` is a whole clause or sentence copied exactly from the scene (it must occur only once), `replace` is what goes in its place, `reason` says why. Change only what the instructions call for; leave everything else as it is.",
        ].join("\n\n"),
      },
    ],
    { ...callFor(ctx, stage, "edit", "edits", scene.number), outputTokens: 2_000 },
  );
  const result = applyEdits(scene.text, value.edits);
  return {
    text: result.applied.length > 0 ? result.text : null,
    applied: result.applied.length,
    rejected: result.rejected.map((r) => ({ find: r.edit.find, why: r.why })),
  };
}

/** A surgical pass as a revision proposal: the edited text for the guard, with what was refused. */
export function editProposal(outcome: EditOutcome, detail: Record<string, unknown> = {}): Proposal {
  const record = { ...detail, editsApplied: outcome.applied, editsRejected: outcome.rejected };
  return outcome.text === null ? { unchanged: true, detail: record } : { text: outcome.text, detail: record };
}
