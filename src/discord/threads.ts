import { and, desc, eq, inArray, isNull, like, lt, lte, ne, notExists, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import { type DiscordThread, discordThreads, type Project, projects } from "../../db/schema";
import { freeDeadLocalLeases } from "../pipeline/scheduler";

/** Where a project lives in Discord, written in the same transaction as the project itself. */
export interface ThreadPlace {
  guildId: string;
  channelId: string;
  threadId: string;
}

type Writer = Pick<Db, "insert">;

export function attachThread(db: Writer, projectId: number, place: ThreadPlace): void {
  db.insert(discordThreads)
    .values({ projectId, ...place })
    .run();
}

export function threadOf(db: Db, projectId: number): DiscordThread | undefined {
  return db.select().from(discordThreads).where(eq(discordThreads.projectId, projectId)).get();
}

/**
 * Discord projects whose setup never finished: claimed by a `/novel start` that died before opening
 * the thread (its claim expired, or its process is gone). Nothing was written for them; they go.
 */
export function dropUnthreadedProjects(db: Db): number[] {
  freeDeadLocalLeases(db);
  return db
    .delete(projects)
    .where(
      and(
        eq(projects.host, "discord"),
        notExists(db.select().from(discordThreads).where(eq(discordThreads.projectId, projects.id))),
        or(isNull(projects.leaseOwner), lt(projects.leaseExpiresAt, Date.now())),
      ),
    )
    .returning({ id: projects.id })
    .all()
    .map((r) => r.id);
}

/** The project whose thread this channel is. */
export function projectInThread(db: Db, threadId: string): Project | undefined {
  return db
    .select({ project: projects })
    .from(discordThreads)
    .innerJoin(projects, eq(projects.id, discordThreads.projectId))
    .where(eq(discordThreads.threadId, threadId))
    .get()?.project;
}

/** A project and its thread, when the project lives in this server. */
export function guildProject(db: Db, projectId: number, guildId: string | null): Project | undefined {
  if (!guildId) return undefined;
  return db
    .select({ project: projects })
    .from(discordThreads)
    .innerJoin(projects, eq(projects.id, discordThreads.projectId))
    .where(and(eq(discordThreads.projectId, projectId), eq(discordThreads.guildId, guildId)))
    .get()?.project;
}

/** An owner's projects in a server, newest first; `matching` filters by title or id as typed. */
export function ownersProjects(
  db: Db,
  ownerId: string,
  guildId: string | null,
  matching?: string,
): (Project & { threadId: string })[] {
  return db
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
    .limit(25)
    .all()
    .map((r) => ({ ...r.project, threadId: r.threadId }));
}

export function setProgressMessage(db: Db, projectId: number, messageId: string, stage: string): void {
  db.update(discordThreads)
    .set({ progressMessageId: messageId, progressStage: stage })
    .where(eq(discordThreads.projectId, projectId))
    .run();
}

/**
 * The nonce the finished book is posted with: the one stored by an earlier attempt, or a new one stored
 * now, before the post, so a retry after a crash or a lost answer sends the same one.
 */
export function deliveryNonce(db: Db, projectId: number, fresh: string): string {
  db.update(discordThreads)
    .set({ deliveryNonce: fresh })
    .where(and(eq(discordThreads.projectId, projectId), isNull(discordThreads.deliveryNonce)))
    .run();
  return threadOf(db, projectId)?.deliveryNonce ?? fresh;
}

/** The finished book's post, recorded the moment Discord answers, before the project is marked done. */
export function setDelivered(db: Db, projectId: number, messageId: string): void {
  db.update(discordThreads)
    .set({ deliveryMessageId: messageId })
    .where(eq(discordThreads.projectId, projectId))
    .run();
}

/**
 * Records the gate or needs-attention message posted for the state at `version`, unless a message for a
 * newer state is recorded already (a slow post finishing after a quicker, later one).
 */
export function setNotice(db: Db, projectId: number, messageId: string, version: number): void {
  db.update(discordThreads)
    .set({ noticeMessageId: messageId, noticeVersion: version })
    .where(
      and(
        eq(discordThreads.projectId, projectId),
        or(isNull(discordThreads.noticeVersion), lte(discordThreads.noticeVersion, version)),
      ),
    )
    .run();
}

/** Projects waiting at a gate or needing attention whose message for that state was never posted. */
export function owedNotices(db: Db): Project[] {
  return db
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
    )
    .all()
    .map((r) => r.project);
}
