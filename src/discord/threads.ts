import { and, asc, desc, eq, inArray, isNull, like, lt, lte, ne, notExists, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import {
  chapters,
  type DiscordThread,
  discordChapters,
  discordThreads,
  type Project,
  projects,
  scenes,
} from "../../db/schema";
import { freeDeadLocalLeases } from "../pipeline/scheduler";

/** Where a project lives in Discord, written in the same transaction as the project itself. */
export interface ThreadPlace {
  guildId: string;
  channelId: string;
  threadId: string;
}

type Writer = Pick<Db, "insert">;

export async function attachThread(db: Writer, projectId: number, place: ThreadPlace): Promise<void> {
  await db.insert(discordThreads).values({ projectId, ...place });
}

export async function threadOf(db: Db, projectId: number): Promise<DiscordThread | undefined> {
  const [thread] = await db.select().from(discordThreads).where(eq(discordThreads.projectId, projectId));
  return thread;
}

/**
 * Discord projects whose setup never finished: claimed by a `/novel start` that died before opening
 * the thread (its claim expired, or its process is gone). Nothing was written for them; they go.
 */
export async function dropUnthreadedProjects(db: Db): Promise<number[]> {
  await freeDeadLocalLeases(db);
  const dropped = await db
    .delete(projects)
    .where(
      and(
        eq(projects.host, "discord"),
        notExists(db.select().from(discordThreads).where(eq(discordThreads.projectId, projects.id))),
        or(isNull(projects.leaseOwner), lt(projects.leaseExpiresAt, Date.now())),
      ),
    )
    .returning({ id: projects.id });
  return dropped.map((r) => r.id);
}

/** The project whose thread this channel is. */
export async function projectInThread(db: Db, threadId: string): Promise<Project | undefined> {
  const [row] = await db
    .select({ project: projects })
    .from(discordThreads)
    .innerJoin(projects, eq(projects.id, discordThreads.projectId))
    .where(eq(discordThreads.threadId, threadId));
  return row?.project;
}

/** A project and its thread, when the project lives in this server. */
export async function guildProject(
  db: Db,
  projectId: number,
  guildId: string | null,
): Promise<Project | undefined> {
  if (!guildId) return undefined;
  const [row] = await db
    .select({ project: projects })
    .from(discordThreads)
    .innerJoin(projects, eq(projects.id, discordThreads.projectId))
    .where(and(eq(discordThreads.projectId, projectId), eq(discordThreads.guildId, guildId)));
  return row?.project;
}

/** An owner's projects in a server, newest first; `matching` filters by title or id as typed. */
export async function ownersProjects(
  db: Db,
  ownerId: string,
  guildId: string | null,
  matching?: string,
): Promise<(Project & { threadId: string })[]> {
  const rows = await db
    .select({ project: projects, threadId: discordThreads.threadId })
    .from(discordThreads)
    .innerJoin(projects, eq(projects.id, discordThreads.projectId))
    .where(
      and(
        eq(projects.ownerId, ownerId),
        guildId ? eq(discordThreads.guildId, guildId) : undefined,
        matching
          ? or(like(projects.title, `%${matching}%`), eq(projects.id, Number(matching) || -1))
          : undefined,
      ),
    )
    .orderBy(desc(projects.id))
    .limit(25);
  return rows.map((r) => ({ ...r.project, threadId: r.threadId }));
}

/** The status card, posted first in the thread, to be edited as the project moves on. */
export async function setStatusMessage(db: Db, projectId: number, messageId: string): Promise<void> {
  await db
    .update(discordThreads)
    .set({ statusMessageId: messageId })
    .where(eq(discordThreads.projectId, projectId));
}

export async function setProgressMessage(
  db: Db,
  projectId: number,
  messageId: string,
  stage: string,
): Promise<void> {
  await db
    .update(discordThreads)
    .set({ progressMessageId: messageId, progressStage: stage })
    .where(eq(discordThreads.projectId, projectId));
}

/**
 * The nonce the finished book is posted with: the one stored by an earlier attempt, or a new one stored
 * now, before the post, so a retry after a crash or a lost answer sends the same one.
 */
export async function deliveryNonce(db: Db, projectId: number, fresh: string): Promise<string> {
  await db
    .update(discordThreads)
    .set({ deliveryNonce: fresh })
    .where(and(eq(discordThreads.projectId, projectId), isNull(discordThreads.deliveryNonce)));
  return (await threadOf(db, projectId))?.deliveryNonce ?? fresh;
}

/** The finished book's post, recorded the moment Discord answers, before the project is marked done. */
export async function setDelivered(db: Db, projectId: number, messageId: string): Promise<void> {
  await db
    .update(discordThreads)
    .set({ deliveryMessageId: messageId })
    .where(eq(discordThreads.projectId, projectId));
}

/**
 * Records the gate or needs-attention message posted for the state at `version`, unless a message for a
 * newer state is recorded already (a slow post finishing after a quicker, later one).
 */
export async function setNotice(
  db: Db,
  projectId: number,
  messageId: string,
  version: number,
): Promise<void> {
  await db
    .update(discordThreads)
    .set({ noticeMessageId: messageId, noticeVersion: version })
    .where(
      and(
        eq(discordThreads.projectId, projectId),
        or(isNull(discordThreads.noticeVersion), lte(discordThreads.noticeVersion, version)),
      ),
    );
}

/** Projects waiting at a gate or needing attention whose message for that state was never posted. */
export async function owedNotices(db: Db): Promise<Project[]> {
  const rows = await db
    .select({ project: projects })
    .from(discordThreads)
    .innerJoin(projects, eq(projects.id, discordThreads.projectId))
    .where(
      and(
        inArray(projects.status, ["waiting", "needs_attention"]),
        or(
          isNull(discordThreads.noticeMessageId),
          isNull(discordThreads.noticeVersion),
          ne(discordThreads.noticeVersion, projects.statusVersion),
        ),
      ),
    );
  return rows.map((r) => r.project);
}

/** Whether the chapter's message was posted in the project's thread already. */
export async function chapterPosted(db: Db, projectId: number, chapter: number): Promise<boolean> {
  const rows = await db
    .select({ chapter: discordChapters.chapter })
    .from(discordChapters)
    .where(and(eq(discordChapters.projectId, projectId), eq(discordChapters.chapter, chapter)));
  return rows.length > 0;
}

/** Records the chapter's message the moment Discord answers (a second record of it is ignored). */
export async function setChapterPosted(
  db: Db,
  projectId: number,
  chapter: number,
  messageId: string,
): Promise<void> {
  await db.insert(discordChapters).values({ projectId, chapter, messageId }).onConflictDoNothing();
}

/** The project's chapters whose every scene is drafted and whose message was never posted, in order. */
export async function unpostedChapters(
  db: Db,
  projectId: number,
): Promise<{ number: number; title: string }[]> {
  const list = await db
    .select({ number: chapters.number, title: chapters.title })
    .from(chapters)
    .where(eq(chapters.projectId, projectId))
    .orderBy(asc(chapters.number));
  // Whether each scene is drafted, not its text: this runs at every chapter a project finishes.
  const sceneRows = await db
    .select({
      chapter: scenes.chapter,
      drafted: sql<number>`case when ${scenes.text} is null then 0 else 1 end`.mapWith(Number),
    })
    .from(scenes)
    .where(eq(scenes.projectId, projectId));
  const posted = new Set(
    (
      await db
        .select({ chapter: discordChapters.chapter })
        .from(discordChapters)
        .where(eq(discordChapters.projectId, projectId))
    ).map((r) => r.chapter),
  );
  return list.filter((c) => {
    const own = sceneRows.filter((r) => r.chapter === c.number);
    return !posted.has(c.number) && own.length > 0 && own.every((r) => r.drafted === 1);
  });
}
