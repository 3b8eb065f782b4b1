/** A new project: the author's request checked, and the row stored, under the per-owner limit if any. */
import { and, count, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { type Db, inTransaction, lockOwner, type Tx } from "../../db/client";
import { type Project, type ProjectHost, projects } from "../../db/schema";
import { FIRST_STAGE } from "./workflow";

/** What an author may ask for when starting a novel; the same limits for slash commands and the CLI. */
export const NewProjectSchema = z.object({
  premise: z
    .string()
    .trim()
    .min(10, "The premise needs at least 10 characters: a sentence or two about the story.")
    .max(4000, "The premise can be at most 4000 characters."),
  title: z.string().trim().min(1).max(200).optional(),
  genre: z.string().trim().min(1).max(100).optional(),
  voice: z.string().trim().min(1).max(500).optional(),
  scenes: z.coerce
    .number({ error: "scenes must be a whole number from 3 to 120." })
    .int("scenes must be a whole number from 3 to 120.")
    .min(3, "scenes must be a whole number from 3 to 120.")
    .max(120, "scenes must be a whole number from 3 to 120.")
    .default(50),
  words: z.coerce
    .number({ error: "words must be a whole number from 2,000 to 200,000." })
    .int("words must be a whole number from 2,000 to 200,000.")
    .min(2000, "words must be a whole number from 2,000 to 200,000.")
    .max(200_000, "words must be a whole number from 2,000 to 200,000.")
    .default(60_000),
  autoApprove: z.boolean().default(false),
  /** Show each chapter to the author as soon as it is drafted (in Discord, a message in the thread). */
  chapters: z.boolean().default(true),
});
export type NewProject = z.input<typeof NewProjectSchema>;

export interface Owner {
  ownerId: string;
  /** Who runs it: the command line unless a host says otherwise. */
  host?: ProjectHost;
  exportPath?: string | null;
}

/** Validates the request; the first problem comes back as one sentence. */
export function parseNewProject(
  input: NewProject,
): { ok: true; value: z.output<typeof NewProjectSchema> } | { ok: false; message: string } {
  const parsed = NewProjectSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, message: parsed.error.issues[0]?.message ?? "Invalid request." };
}

/** Stores a new project; `attach` writes the host's own rows (a Discord thread) in the same transaction. */
export function createProject(
  db: Db,
  input: z.output<typeof NewProjectSchema>,
  owner: Owner,
  attach: (tx: Tx, project: Project) => Promise<void> = async () => {},
): Promise<Project> {
  return inTransaction(db, async (tx) => {
    const project = await insertProject(tx, input, owner);
    await attach(tx, project);
    return project;
  });
}

async function insertProject(
  tx: Tx,
  input: z.output<typeof NewProjectSchema>,
  owner: Owner,
  lease: { leaseOwner: string; leaseExpiresAt: number } | undefined = undefined,
): Promise<Project> {
  const [project] = await tx
    .insert(projects)
    .values({
      ownerId: owner.ownerId,
      host: owner.host ?? "cli",
      exportPath: owner.exportPath ?? null,
      premise: input.premise,
      title: input.title ?? null,
      genre: input.genre ?? null,
      voice: input.voice ?? null,
      sceneCount: input.scenes,
      targetWords: input.words,
      autoApprove: input.autoApprove,
      showChapters: input.chapters,
      stage: FIRST_STAGE,
      ...lease,
    })
    .returning();
  return project!;
}

/** How long a project being set up (its Discord thread opened) is kept from the scheduler at most. */
const SETUP_CLAIM_MS = 60_000;

/**
 * A new project for an owner with at most `maxActive` unfinished ones, counted and inserted in one
 * IMMEDIATE transaction, so two quick starts cannot both pass the count. The row is held by `claimant`
 * (a lease no scheduler takes) until the host has attached its own rows with `finishSetup`, or removed
 * it with `abandonSetup` when that failed.
 */
export function claimNewProject(
  db: Db,
  input: z.output<typeof NewProjectSchema>,
  owner: Owner,
  maxActive: number,
  claimant: string,
): Promise<{ ok: true; project: Project } | { ok: false; message: string }> {
  return inTransaction(db, async (tx) => {
    // Two starts by one author at once are counted one after the other.
    await lockOwner(tx, owner.ownerId);
    if ((await activeProjectCount(tx, owner.ownerId)) >= maxActive) {
      return {
        ok: false as const,
        message: `You already have ${maxActive} unfinished projects, the most allowed. Finish or cancel one first (see /novel list).`,
      };
    }
    const project = await insertProject(tx, input, owner, {
      leaseOwner: claimant,
      leaseExpiresAt: Date.now() + SETUP_CLAIM_MS,
    });
    return { ok: true as const, project };
  });
}

/** Writes the host's rows for a claimed new project and lets the scheduler have it. */
export function finishSetup(
  db: Db,
  id: number,
  claimant: string,
  attach: (tx: Tx) => Promise<void>,
): Promise<void> {
  return inTransaction(db, async (tx) => {
    await attach(tx);
    await tx
      .update(projects)
      .set({ leaseOwner: null, leaseExpiresAt: null })
      .where(and(eq(projects.id, id), eq(projects.leaseOwner, claimant)));
  });
}

/** Removes a claimed new project whose setup failed: nothing was written for it yet. */
export async function abandonSetup(db: Db, id: number, claimant: string): Promise<void> {
  await db.delete(projects).where(and(eq(projects.id, id), eq(projects.leaseOwner, claimant)));
}

/** Unfinished projects an owner has, in every server (FOLIO_MAX_PROJECTS_PER_USER counts them all). */
export async function activeProjectCount(db: Pick<Db, "select">, ownerId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(projects)
    .where(and(eq(projects.ownerId, ownerId), sql`${projects.status} not in ('done', 'cancelled')`));
  return row?.n ?? 0;
}
