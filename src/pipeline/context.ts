import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../../db/client";
import { chapters, scenes } from "../../db/schema";
import type { SceneContext } from "../../stages/definition";
import type { Outline } from "../../stages/outline";
import { lastWords } from "../text/words";
import { standingFor } from "./ledger";

/** Words of the previous scene given verbatim, so the new scene picks up its rhythm and moment. */
export const PREVIOUS_TAIL_WORDS = 400;

/**
 * Earlier scenes are represented by their digests; a scene whose digest is still being written (the
 * previous one, digested while this one is drafted) by its outline card's summary and its last words.
 */
export function buildSceneContext(
  db: Db,
  projectId: number,
  outline: Outline,
  sceneNumber: number,
): SceneContext {
  const scene = outline.scenes.find((s) => s.number === sceneNumber);
  if (!scene) throw new Error(`scene ${sceneNumber} is not in the outline`);
  const digests = new Map(
    db
      .select({ number: scenes.number, summary: scenes.summary })
      .from(scenes)
      .where(and(eq(scenes.projectId, projectId), lt(scenes.number, sceneNumber)))
      .all()
      .map((r) => [r.number, r.summary]),
  );
  const chapterDigests = new Map(
    db
      .select({ number: chapters.number, summary: chapters.summary })
      .from(chapters)
      .where(eq(chapters.projectId, projectId))
      .all()
      .map((r) => [r.number, r.summary]),
  );
  const earlier = outline.scenes
    .filter((s) => s.number < sceneNumber)
    .map((s) => ({
      number: s.number,
      chapter: s.chapter,
      title: s.title,
      summary: digests.get(s.number) ?? s.summary,
    }));
  const earlierChapters = outline.chapters
    .filter((ch) => ch.number < scene.chapter)
    .map((ch) => ({
      number: ch.number,
      title: ch.title,
      summary:
        chapterDigests.get(ch.number) ??
        earlier
          .filter((s) => s.chapter === ch.number)
          .map((s) => s.summary)
          .join(" "),
    }));
  const own = db
    .select({ beats: scenes.beats })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber)))
    .get();
  const previous = db
    .select({ text: scenes.text })
    .from(scenes)
    .where(and(eq(scenes.projectId, projectId), eq(scenes.number, sceneNumber - 1)))
    .get();
  const standing = standingFor(db, projectId, scene);
  return {
    scene,
    ...(standing ? { standing } : {}),
    previousScene: outline.scenes.find((s) => s.number === sceneNumber - 1),
    nextScene: outline.scenes.find((s) => s.number === sceneNumber + 1),
    sceneCount: outline.scenes.length,
    chapterCount: outline.chapters.length,
    chapterTitle:
      outline.chapters.find((c) => c.number === scene.chapter)?.title ?? `Chapter ${scene.chapter}`,
    earlierChapters,
    chapterScenes: earlier
      .filter((s) => s.chapter === scene.chapter)
      .map(({ number, title, summary }) => ({ number, title, summary })),
    previousTail: previous?.text ? lastWords(previous.text, PREVIOUS_TAIL_WORDS) : null,
    beats: own?.beats ?? null,
  };
}
