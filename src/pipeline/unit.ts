import type { Logger } from "pino";
import type { Db } from "../../db/client";
import type { Project } from "../../db/schema";
import type { LengthRecord, Plan, ProjectBrief, StageContext } from "../../stages/types";
import type { Config } from "../config";
import type { LlmClient } from "../llm/client";
import type { Messages } from "../llm/types";
import type { Metrics } from "../ops/metrics";
import type { ProgressSink, ProgressSnapshot } from "./events";
import { getProject, loadPlan, progressOf, totalCost } from "./store";
import { commitMove, type Move, transition, UNIT_MAY_COMMIT_IN, UnitInterrupted } from "./transition";

/** Hands the finished book to whoever asked for it (a file for the CLI, a thread for Discord). */
export type Deliverer = (project: Project, signal: AbortSignal) => Promise<void>;

export interface PipelineDeps {
  db: Db;
  llm: LlmClient;
  config: Config;
  log: Logger;
  emit: ProgressSink;
  deliver: Deliverer;
  /** The process's metrics, when it keeps them. */
  metrics?: Metrics;
}

/**
 * What a worker keeps between units of one project: the plan and the drafting prefix (unchanged
 * while drafting, so not re-read and re-rendered per scene) and the drafting pace for the ETA.
 */
export interface WorkerMemory {
  plan?: Plan;
  prefix?: string;
  pace?: { startedAt: number; scenes: number };
  /** Words drafts were asked for and came with, so a model that writes short is asked for more. */
  lengths?: LengthRecord;
  /** The beat plans being asked for ahead of the drafting, if any (see `planBeats`). */
  plans?: Promise<void>;
  /**
   * Scenes this worker drafted in one call: the messages sent and the text. The next scene may be
   * asked for as the next turn of that conversation (`continued`), and each one's digest continues it.
   */
  drafts?: Map<number, { sent: Messages; text: string; continued: boolean }>;
  /** The digest lane in flight, if any (see `startDigestLane`). */
  digests?: Promise<void>;
  /** Why the digest lane last stopped, reported by the next drafting unit so it is retried like any unit. */
  digestError?: unknown;
}

/** One unit of work on one project, under this process's lease. */
export interface Unit {
  deps: PipelineDeps;
  project: Project;
  owner: string;
  signal: AbortSignal;
  memory: WorkerMemory;
}

/**
 * Commits the unit's output, and any change of position, while this process holds the lease. Output
 * is saved even if the author paused or cancelled meanwhile; a change of status only from `running`
 * (delivery, which finishes a project, says its own statuses).
 */
export function commit(unit: Unit, move: Omit<Move, "from" | "lease"> = {}): Promise<Project> {
  const changesStatus = move.to?.status !== undefined;
  return commitMove(unit.deps.db, unit.project.id, {
    ...move,
    from: changesStatus ? ["running"] : UNIT_MAY_COMMIT_IN,
    lease: unit.owner,
  });
}

export function stageContext(unit: Unit, plan: Plan): StageContext {
  return { project: unit.project, plan, llm: unit.deps.llm, signal: unit.signal };
}

export function progress(unit: Unit, etaMs: number | null = null): Promise<ProgressSnapshot> {
  return progressOf(unit.deps.db, unit.project, etaMs);
}

/**
 * The plan, and the drafting prefix built from it, kept for the worker's next units. There is one
 * prefix per book: the scene loops and the rewrites share it, so it is built once.
 */
export async function planFor(
  unit: Unit,
  prefix: (plan: Plan, project: ProjectBrief) => string,
): Promise<{ plan: Plan; prefix: string }> {
  const { memory } = unit;
  memory.plan ??= await loadPlan(unit.deps.db, unit.project.id);
  memory.prefix ??= prefix(memory.plan, unit.project);
  return { plan: memory.plan, prefix: memory.prefix };
}

/**
 * Called before anything is paid for: stops the unit when the project was paused or cancelled
 * meanwhile, and pauses it when `FOLIO_BUDGET_USD` (a per-project cap) has been spent.
 */
export async function checkpoint(unit: Unit): Promise<void> {
  const { deps, project } = unit;
  const current = await getProject(deps.db, project.id);
  if (current?.status !== "running") throw new UnitInterrupted(project.id, current?.status ?? "gone");
  const budget = deps.config.FOLIO_BUDGET_USD;
  if (budget <= 0) return;
  const spent = await totalCost(deps.db, project.id);
  if (spent < budget) return;
  const reason = `Budget reached: $${spent.toFixed(2)} of $${budget.toFixed(2)} spent. Raise FOLIO_BUDGET_USD (and restart), then resume.`;
  const paused = await transition(deps.db, project.id, {
    from: ["running"],
    to: { status: "paused", attention: reason },
  });
  if (paused.ok) deps.emit({ type: "paused", projectId: project.id, reason });
  throw new UnitInterrupted(project.id, "budget reached");
}
