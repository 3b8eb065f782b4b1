import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../../db/client";
import { chapters, scenes } from "../../db/schema";
import type { SceneContext, StoryBefore } from "../../stages/definition";
import type { DigestInput } from "../../stages/draft";
import type { Outline } from "../../stages/outline";
import { lastWords } from "../text/words";
import { digestLedgerFor, standingFor } from "./ledger";

/** Words of the previous scene given verbatim, so the new scene picks up its rhythm and moment. */
export const PREVIOUS_TAIL_WORDS = 400;

/** The story before scene `number`, as the digests tell it: earlier chapters, then this chapter's scenes. */
export async function storyBefore(
  db: Db,
  projectId: number,
  outline: Outline,
  number: number,
): Promise<StoryBefore> {
  const chapter = outline.scenes.find((s) => s.number === number)?.chapter ?? 0;
  const digests = new Map(
    (
      await db
        .select({ number: scenes.number, summary: scenes.summary })
        .from(scenes)
        .where(and(eq(scenes.projectId, projectId), lt(scenes.number, number)))
    ).map((r) => [r.number, r.summary]),
  );
  const chapterDigests = new Map(
    (
      await db
        .select({ number: chapters.number, summary: chapters.summary })
        .from(chapters)
        .where(eq(chapters.projectId, projectId))
    ).map((r) => [r.number, r.summary]),
  );
  const earlier = outline.scenes
    .filter((s) => s.number < number)
    .map((s) => ({
      number: s.number,
      chapter: s.chapter,
      title: s.title,
      summary: digests.get(s.number) ?? s.summary,
    }));
  return {
    earlierChapters: outline.chapters
      .filter((ch) => ch.number < chapter)
      .map((ch) => ({
        number: ch.number,
        title: ch.title,
        summary:
          chapterDigests.get(ch.number) ??
          earlier
            .filter((s) => s.chapter === ch.number)
            .map((s) => s.summary)
            .join(" "),
      })),
    chapterScenes: earlier
      .filter((s) => s.chapter === chapter)
      .map(({ number, title, summary }) => ({ number, title, summary })),
  };
}

/**
 * Earlier scenes are represented by their digests; a scene whose digest is still being written (the
 * previous one, digested while this one is drafted) by its outline card's summary. The previous scene
 * is also given whole, with the story as it stood before it: exactly what its digest was shown, so the
 * provider's prompt cache serves that part of the prompt to whichever of the two calls comes second.
 */
export async function buildSceneContext(
  db: Db,
  projectId: number,
  outline: Outline,
  sceneNumber: number,
): Promise<SceneContext> {
  const scene = outline.scenes.find((s) => s.number === sceneNumber);
  if (!scene) throw new Error(`scene ${sceneNumber} is not in the outline`);
  const [own] = await db
    .select({ beats: scenes.beats })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)));
  const [previous] = await db
    .select({ text: scenes.text })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber - 1)));
  const previousScene = outline.scenes.find((s) => s.number === sceneNumber - 1);
  const standing = await standingFor(db, projectId, scene);
  return {
    scene,
    ...(standing ? { standing } : {}),
    previousScene,
    nextScene: outline.scenes.find((s) => s.number === sceneNumber + 1),
    sceneCount: outline.scenes.length,
    chapterCount: outline.chapters.length,
    chapterTitle:
      outline.chapters.find((c) => c.number === scene.chapter)?.title ?? `Chapter ${scene.chapter}`,
    ...(await storyBefore(db, projectId, outline, sceneNumber)),
    previousTail: previous?.text ? lastWords(previous.text, PREVIOUS_TAIL_WORDS) : null,
    ...(previousScene && previous?.text
      ? {
          previousWhole: {
            text: previous.text,
            storyBefore: await storyBefore(db, projectId, outline, previousScene.number),
          },
        }
      : {}),
    beats: own?.beats ?? null,
  };
}

/** What a scene's digest is shown besides its text: its card, the story before it, the ledger's threads. */
export async function digestInput(
  db: Db,
  projectId: number,
  outline: Outline,
  number: number,
): Promise<DigestInput> {
  const card = outline.scenes.find((s) => s.number === number);
  return {
    ...(await digestLedgerFor(db, projectId, card)),
    ...(card ? { card, storyBefore: await storyBefore(db, projectId, outline, number) } : {}),
  };
}
