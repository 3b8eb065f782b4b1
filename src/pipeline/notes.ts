import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { type ChapterNote, chapterNotes, chapters, type Project, type ProjectStatus } from "../../db/schema";
import type { GateView } from "../../stages/definition";
import type { ProgressSnapshot } from "./events";
import { getProject, loadPlan } from "./store";
import { transition } from "./transition";
import { BEFORE_REVISION, type StageId, stageLabel } from "./workflow";

/** Statuses in which notes may change (with a stage before revision): not finished, not cancelled. */
const OPEN: ProjectStatus[] = ["running", "waiting", "paused", "needs_attention"];

/** Whether the project's chapter notes can still change: revision has not started, nor has it ended. */
export const notesOpen = (p: Pick<Project, "status" | "stage">) =>
  OPEN.includes(p.status) && BEFORE_REVISION.includes(p.stage as StageId);

/** Why a project's notes can no longer change. */
export function notesClosed(p: Pick<Project, "status" | "stage">): string {
  if (p.status === "done") return "The book is finished: notes steer revision, which is over.";
  if (p.status === "cancelled") return "The project is cancelled: its notes can no longer change.";
  return `Revision has started (${stageLabel(p.stage)}): notes can be written or changed only before it.`;
}

/** The longest note a chapter takes: Discord's longest form field. */
export const NOTE_MAX = 4000;

export interface NoteResult {
  /** What the author is told. */
  message: string;
  /** The chapter's note before this change, if it had one. */
  previous?: string;
}

/**
 * Writes the author's note on a chapter, replacing the one it had; an empty note removes it. Only
 * while revision has not started (planning, drafting, the draft gate): revision reads the notes, and
 * the check and the write are one move, so a note never lands after revision has begun.
 */
export async function setChapterNote(
  db: Db,
  projectId: number,
  chapter: number,
  text: string,
  authorId: string,
): Promise<({ ok: true } & NoteResult) | { ok: false; message: string }> {
  const note = text.trim();
  if (note.length > NOTE_MAX)
    return { ok: false, message: `A note is at most ${NOTE_MAX} characters; this one has ${note.length}.` };
  const project = await getProject(db, projectId);
  if (!project) return { ok: false, message: `There is no project ${projectId}.` };
  const [row] = await db
    .select({ title: chapters.title })
    .from(chapters)
    .where(and(eq(chapters.projectId, projectId), eq(chapters.number, chapter)));
  if (!row) {
    const count = (await db.select().from(chapters).where(eq(chapters.projectId, projectId))).length;
    return {
      ok: false,
      message:
        count === 0
          ? "The book has no chapters yet: notes are for chapters once the outline has laid them out."
          : `Chapter ${chapter} does not exist: the book has chapters 1–${count}.`,
    };
  }
  let previous: string | undefined;
  const moved = await transition(db, projectId, {
    from: OPEN,
    at: BEFORE_REVISION,
    write: async (tx) => {
      const where = and(eq(chapterNotes.projectId, projectId), eq(chapterNotes.chapter, chapter));
      [previous] = (await tx.select({ text: chapterNotes.text }).from(chapterNotes).where(where)).map(
        (r) => r.text,
      );
      if (!note) {
        await tx.delete(chapterNotes).where(where);
        return;
      }
      const values = { text: note, authorId, updatedAt: Date.now() };
      await tx
        .insert(chapterNotes)
        .values({ projectId, chapter, ...values })
        .onConflictDoUpdate({ target: [chapterNotes.projectId, chapterNotes.chapter], set: values });
    },
  });
  if (!moved.ok)
    return {
      ok: false,
      message: moved.project ? notesClosed(moved.project) : `There is no project ${projectId}.`,
    };
  const heading = `chapter ${chapter}${row.title ? ` (“${row.title}”)` : ""}`;
  const message = !note
    ? previous === undefined
      ? `There was no note on ${heading}.`
      : `The note on ${heading} is removed.`
    : `${previous === undefined ? "Noted" : "Note replaced"} on ${heading}: self-refinement reads it first for every scene of the chapter.`;
  return { ok: true, message, ...(previous === undefined ? {} : { previous }) };
}

/** A project's chapter notes, by chapter, with each chapter's title. */
export async function chapterNotesOf(
  db: Db,
  projectId: number,
): Promise<(ChapterNote & { title: string | null })[]> {
  const rows = await db
    .select({ note: chapterNotes, title: chapters.title })
    .from(chapterNotes)
    .leftJoin(
      chapters,
      and(eq(chapters.projectId, chapterNotes.projectId), eq(chapters.number, chapterNotes.chapter)),
    )
    .where(eq(chapterNotes.projectId, projectId))
    .orderBy(asc(chapterNotes.chapter));
  return rows.map((r) => ({ ...r.note, title: r.title }));
}

/** What a gate shows of a project: its plan, its draft's counts, and how many chapters have notes. */
export async function gateView(db: Db, projectId: number, progress: ProgressSnapshot): Promise<GateView> {
  return {
    plan: await loadPlan(db, projectId),
    scenesDone: progress.scenesDone,
    words: progress.words,
    notedChapters: (await chapterNotesOf(db, projectId)).length,
  };
}
