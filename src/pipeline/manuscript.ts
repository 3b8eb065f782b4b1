import { asc, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { chapters, type Project, scenes } from "../../db/schema";
import type { Manuscript } from "../export/manuscript";
import { loadPlan } from "./store";

/** The book as it stands in the database, whole or partial, in the shape exporters take. */
export function loadManuscript(db: Db, project: Project, author: string): Manuscript {
  const plan = loadPlan(db, project.id);
  const chapterRows = db
    .select()
    .from(chapters)
    .where(eq(chapters.projectId, project.id))
    .orderBy(asc(chapters.number))
    .all();
  const sceneRows = db
    .select({ number: scenes.number, chapter: scenes.chapter, title: scenes.title, text: scenes.text })
    .from(scenes)
    .where(eq(scenes.projectId, project.id))
    .orderBy(asc(scenes.number))
    .all();
  const book: Manuscript = {
    title: project.title ?? plan.concept?.title ?? "Untitled",
    author,
    description: plan.concept?.logline ?? project.premise,
    genre: plan.concept?.genre ?? project.genre ?? "Fiction",
    language: "en",
    year: new Date().getFullYear(),
    chapters: chapterRows.map((c) => ({
      number: c.number,
      title: c.title,
      scenes: sceneRows
        .filter((s) => s.chapter === c.number)
        .map((s) => ({ number: s.number, title: s.title, text: s.text })),
    })),
    partial: sceneRows.length === 0 || sceneRows.some((s) => !s.text?.trim()),
  };
  return book;
}
