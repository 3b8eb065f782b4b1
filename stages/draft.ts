import { z } from "zod";
import type { Messages } from "../src/llm/types";
import { countWords } from "../src/text/words";
import { castMarkdown } from "./characters";
import { conceptMarkdown } from "./concept";
import { defineStage, MANUSCRIPT_NEEDS, type SceneContext } from "./definition";
import { outlineMarkdown, sceneCardMarkdown } from "./outline";
import { callFor, need, type Plan, type StageContext } from "./types";
import { worldMarkdown } from "./world";

/** Stage 6 — Scene Drafting: one scene's prose, then its summary and the facts it establishes. */
export const SceneDigestSchema = z.object({
  summary: z.string().describe("3–5 sentences: what happens, what changes"),
  facts: z
    .array(z.string())
    .max(12)
    .describe(
      "continuity facts this scene establishes: names, places, objects, injuries, times, who knows what",
    ),
});
export const ChapterDigestSchema = z.object({ summary: z.string().describe("4–6 sentences") });

/** Below this share of its target a scene is extended rather than accepted. */
const MIN_SHARE_OF_TARGET = 0.6;
const MAX_EXTENSIONS = 2;

/**
 * The byte-stable opening of every drafting prompt: rules, style, concept, world, cast and the whole
 * outline, in a fixed order and format, so the provider's prompt cache serves it on every scene.
 */
export function stablePrefix(plan: Plan): string {
  const concept = need(plan, "concept");
  return [
    `You are the novelist writing "${concept.title}". You write one scene at a time, in the book's voice.`,
    [
      "Rules for every answer:",
      "- Write only the scene's prose: no title, no heading, no scene number, no notes, no commentary.",
      "- Stay inside the scene card: its POV, place, characters, goal, conflict and outcome.",
      "- Use the characters' names exactly as in the cast. Keep every established fact.",
      "- Show through concrete action, sensory detail and dialogue; give each character their own voice.",
      "- End the scene at a natural break with a complete sentence.",
    ].join("\n"),
    conceptMarkdown(concept),
    worldMarkdown(need(plan, "world")),
    castMarkdown(need(plan, "characters")),
    outlineMarkdown(need(plan, "outline")),
  ].join("\n\n");
}

export function draftPrompt(prefix: string, context: SceneContext): Messages {
  return [
    { role: "system", content: prefix },
    { role: "user", content: variablePart(context) },
  ];
}

function variablePart(c: SceneContext): string {
  const { scene } = c;
  const parts = [
    `Draft scene ${scene.number} of ${c.sceneCount}: "${scene.title}" (chapter ${scene.chapter}: ${c.chapterTitle})`,
    `Target length: about ${scene.targetWords} words.`,
  ];
  if (c.earlierChapters.length > 0) {
    parts.push(
      `Story so far, by chapter:\n${c.earlierChapters.map((ch) => `Chapter ${ch.number}, ${ch.title}: ${ch.summary}`).join("\n")}`,
    );
  }
  if (c.chapterScenes.length > 0) {
    parts.push(
      `Earlier in this chapter:\n${c.chapterScenes.map((s) => `Scene ${s.number}, ${s.title}: ${s.summary}`).join("\n")}`,
    );
  }
  if (c.previousTail) parts.push(`The previous scene ends with these words:\n"""\n${c.previousTail}\n"""`);
  parts.push(`This scene's card:\n${sceneCardMarkdown(scene)}`);
  if (c.nextScene)
    parts.push(`The scene after this one (do not write it):\n${sceneCardMarkdown(c.nextScene)}`);
  if (c.redraft) {
    parts.push(
      `You wrote this scene before:\n"""\n${c.redraft.previousText}\n"""\nRewrite it from scratch following the author's notes: ${c.redraft.notes}`,
    );
  }
  parts.push(`Write the complete scene now, about ${scene.targetWords} words.`);
  return parts.join("\n\n");
}

function extensionPrompt(prefix: string, context: SceneContext, soFar: string, missing: number): Messages {
  return [
    { role: "system", content: prefix },
    {
      role: "user",
      content: [
        `Continue scene ${context.scene.number} of ${context.sceneCount}: "${context.scene.title}"`,
        `Target length: about ${missing} words.`,
        `This scene's card:\n${sceneCardMarkdown(context.scene)}`,
        `The scene so far:\n"""\n${soFar}\n"""`,
        "Continue directly from its last sentence to the end of the scene. Do not repeat anything; write only the continuation.",
      ].join("\n\n"),
    },
  ];
}

/** The scene's prose, extended when it falls far short of its target. */
export async function draftScene(ctx: StageContext, prefix: string, context: SceneContext): Promise<string> {
  const { scene } = context;
  const stage = context.redraft ? "redraft" : "drafting";
  const call = (purpose: string) => callFor(ctx, stage, "draft", purpose, scene.number);
  const writing = ctx.writing;
  let { value: text } = await ctx.llm.prose(draftPrompt(prefix, context), {
    ...call("scene"),
    expectedWords: scene.targetWords,
    onWords: writing && ((words) => writing(scene.number, words)),
  });
  for (let i = 0; i < MAX_EXTENSIONS && countWords(text) < MIN_SHARE_OF_TARGET * scene.targetWords; i++) {
    const missing = scene.targetWords - countWords(text);
    const { value: more } = await ctx.llm.prose(extensionPrompt(prefix, context, text, missing), {
      ...call("extend"),
      expectedWords: missing,
      onWords: writing && ((words) => writing(scene.number, countWords(text) + words)),
    });
    text = `${text}\n\n${more}`;
  }
  const words = countWords(text);
  if (words < MIN_SHARE_OF_TARGET * scene.targetWords) {
    throw new Error(`scene ${scene.number} is still too short (${words} of ${scene.targetWords} words)`);
  }
  return text;
}

export type SceneDigest = z.infer<typeof SceneDigestSchema>;

/** What a written scene established: its summary for later prompts, and its continuity facts. */
export async function digestScene(
  ctx: StageContext,
  scene: { number: number; title: string },
  text: string,
  stage: string,
): Promise<SceneDigest> {
  const cast = need(ctx.plan, "characters").characters.map((c) => c.name);
  const { value } = await ctx.llm.structured(
    SceneDigestSchema,
    "scene_digest",
    [
      { role: "system", content: DIGEST_SYSTEM },
      {
        role: "user",
        content: [
          `Summarise scene ${scene.number}, "${scene.title}", and list the continuity facts it establishes.`,
          `Cast: ${cast.join(", ")}.`,
          `"""\n${text}\n"""`,
        ].join("\n\n"),
      },
    ],
    { ...callFor(ctx, stage, "edit", "digest", scene.number), outputTokens: 800 },
  );
  return value;
}

export async function digestChapter(
  ctx: StageContext,
  chapter: { number: number; title: string },
  scenes: { number: number; title: string; summary: string }[],
): Promise<string> {
  const { value } = await ctx.llm.structured(
    ChapterDigestSchema,
    "chapter_digest",
    [
      { role: "system", content: DIGEST_SYSTEM },
      {
        role: "user",
        content: [
          `Summarise chapter ${chapter.number}, "${chapter.title}", from its scene summaries.`,
          scenes.map((s) => `Scene ${s.number}, ${s.title}: ${s.summary}`).join("\n"),
        ].join("\n\n"),
      },
    ],
    { ...callFor(ctx, "drafting", "edit", "chapter-digest", scenes.at(-1)?.number), outputTokens: 500 },
  );
  return value.summary;
}

const DIGEST_SYSTEM = "You are a meticulous continuity editor. Answer only with JSON.";

/** A loop of scene drafts: the writing, the digests and the cached prefix are the same for every one. */
export function sceneLoop<const Id extends string>(id: Id, label: string, scenes: "every" | "requested") {
  return defineStage({
    id,
    label,
    kind: "scenes",
    needs: MANUSCRIPT_NEEDS,
    scenes,
    prefix: stablePrefix,
    draft: draftScene,
    digest: (ctx, scene, text) => digestScene(ctx, scene, text, id),
    digestChapter,
  });
}

/** Stage 6 — every scene in order, each saved the moment it is written. */
export const sceneDrafting = sceneLoop("drafting", "Scene Drafting", "every");
