import { asc, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { chapters, type Project, scenes } from "../../db/schema";
import { type ExportFormat, fileNameFor, renderBook } from "../export/index";
import { type Manuscript, missingScenes } from "../export/manuscript";
import { renderReport } from "../export/report";
import { arcChart } from "../pictures/arc";
import { countWords } from "../text/words";
import { bookShape, reportInput } from "./report";
import { loadPlan } from "./store";

/** The book as it stands in the database, whole or partial, in the shape exporters take. */
export async function loadManuscript(db: Db, project: Project, author: string): Promise<Manuscript> {
  const plan = await loadPlan(db, project.id);
  const chapterRows = await db
    .select()
    .from(chapters)
    .where(eq(chapters.projectId, project.id))
    .orderBy(asc(chapters.number));
  const sceneRows = await db
    .select({ number: scenes.number, chapter: scenes.chapter, title: scenes.title, text: scenes.text })
    .from(scenes)
    .where(eq(scenes.projectId, project.id))
    .orderBy(asc(scenes.number));
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

export interface ExportFiles {
  title: string;
  book: { name: string; data: Buffer };
  report: { name: string; data: Buffer };
  /**
   * The book's shape (words per chapter, tension, flagged scenes), drawn beside the report; when it
   * cannot be drawn, the book and its report go without it and `shapeError` says why.
   */
  shape?: { name: string; data: Buffer; description: string };
  shapeError?: string;
  missing: number[];
  chapters: number;
  words: number;
}

/**
 * The manuscript in one format, with the manuscript report and the book's shape that travel with it;
 * `named`: the book's file name when the author chose one (the report and picture are named after it).
 */
export async function renderExport(
  db: Db,
  project: Project,
  author: string,
  format: ExportFormat,
  named?: string,
): Promise<ExportFiles> {
  const book = await loadManuscript(db, project, author);
  const name = named ?? fileNameFor(book.title, format);
  const base = name.replace(/\.[^./]+$/, "");
  const report = await reportInput(db, project, author);
  let shape: ExportFiles["shape"];
  let shapeError: string | undefined;
  try {
    // A book without an outline yet has no shape to draw.
    const input = await bookShape(db, project, report);
    if (input.scenes.length > 0) {
      const drawn = await arcChart(input);
      shape = { name: `${base}.shape.png`, description: drawn.description, data: drawn.png };
    }
  } catch (error) {
    shapeError = error instanceof Error ? error.message : String(error);
  }
  const picture = shape && { name: shape.name, description: shape.description };
  return {
    title: book.title,
    book: { name, data: await renderBook(format, book) },
    report: {
      name: `${base}.report.md`,
      data: Buffer.from(renderReport({ ...report, ...(picture ? { picture } : {}) }), "utf8"),
    },
    ...(shape ? { shape } : {}),
    ...(shapeError ? { shapeError } : {}),
    missing: missingScenes(book),
    chapters: book.chapters.length,
    words: book.chapters.flatMap((c) => c.scenes).reduce((n, s) => n + countWords(s.text ?? ""), 0),
  };
}
