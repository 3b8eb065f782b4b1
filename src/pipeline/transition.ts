import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { type Db, inTransaction, type Tx } from "../../db/client";
import { type Project, type ProjectStatus, projects } from "../../db/schema";
import type { StageId } from "./workflow";

export type { Tx };

/** Thrown inside a unit's transaction when another process owns the project now; nothing is written. */
export class LeaseLost extends Error {
  constructor(projectId: number) {
    super(`project ${projectId} is no longer leased by this process`);
    this.name = "LeaseLost";
  }
}

/** Thrown when a unit stops early because its project was paused, cancelled or hit its budget; not a failure. */
export class UnitInterrupted extends Error {
  constructor(projectId: number, why: string) {
    super(`project ${projectId} stopped: ${why}`);
    this.name = "UnitInterrupted";
  }
}

/** The fields of a project that a state change may set. */
export type ProjectChanges = Partial<
  Pick<Project, "status" | "stage" | "attention" | "title" | "revisionNotes" | "redraftScene">
>;

/**
 * One state change of a project: what it must be now (status, optionally stage, optionally the lease
 * holder), what it becomes, and the output committed with it.
 */
export interface Move {
  from: readonly ProjectStatus[];
  at?: readonly StageId[];
  /** The process that must hold the lease: units name it; an author's action does not. */
  lease?: string;
  /** No process may hold a live lease (nothing in flight could overwrite what this move writes). */
  unleased?: boolean;
  to?: ProjectChanges;
  /** The unit's output, written in the same transaction, only if the move happens. */
  write?: (tx: Tx) => Promise<void>;
}

export type MoveResult =
  | { ok: true; project: Project }
  | { ok: false; why: "missing" | "lease" | "status"; project?: Project };

/**
 * The one way a project changes state: a conditional UPDATE on the state the caller expects, with the
 * unit's output, in one transaction. Two clicks or two processes racing give one move and one refusal.
 */
export function transition(db: Db, projectId: number, move: Move): Promise<MoveResult> {
  return inTransaction(db, async (tx): Promise<MoveResult> => {
    const [moved] = await tx
      .update(projects)
      .set({
        ...move.to,
        updatedAt: Date.now(),
        // Each change of status is a new state, with its own gate or needs-attention message for hosts.
        ...(move.to?.status ? { statusVersion: sql`${projects.statusVersion} + 1` } : {}),
      })
      .where(
        and(
          eq(projects.id, projectId),
          inArray(projects.status, [...move.from]),
          move.at ? inArray(projects.stage, [...move.at]) : undefined,
          move.lease ? eq(projects.leaseOwner, move.lease) : undefined,
          move.unleased
            ? or(isNull(projects.leaseOwner), lt(projects.leaseExpiresAt, Date.now()))
            : undefined,
        ),
      )
      .returning();
    if (moved) {
      await move.write?.(tx);
      return { ok: true, project: moved };
    }
    const [project] = await tx.select().from(projects).where(eq(projects.id, projectId));
    if (!project) return { ok: false, why: "missing" };
    const leaseHeld = (project.leaseExpiresAt ?? 0) > Date.now();
    const why =
      (move.lease && project.leaseOwner !== move.lease) || (move.unleased && leaseHeld) ? "lease" : "status";
    return { ok: false, why, project };
  });
}

/**
 * States a project may reach while one of its units (or its digest lane) is in flight: what the unit
 * paid for is still saved (pause waits for the unit in flight, cancel keeps everything written).
 */
export const UNIT_MAY_COMMIT_IN: readonly ProjectStatus[] = [
  "running",
  "paused",
  "cancelled",
  "needs_attention",
];

/** A unit's commit: the move happens, or the unit stops with `LeaseLost`/`UnitInterrupted`. */
export async function commitMove(
  db: Db,
  projectId: number,
  move: Move & { lease: string },
): Promise<Project> {
  const result = await transition(db, projectId, move);
  if (result.ok) return result.project;
  if (result.why === "lease" || result.why === "missing") throw new LeaseLost(projectId);
  throw new UnitInterrupted(projectId, result.project?.status ?? "gone");
}
