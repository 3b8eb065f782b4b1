// Over 300 lines: claiming, running, renewing and releasing are one lease protocol, kept in one place
// with the release of leases whose local owner has died and the word on leases held elsewhere.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { and, count, eq, gt, isNotNull, isNull, like, lt, notInArray, or, sql } from "drizzle-orm";
import { type Db, inTransaction, listenForWork, lockedForClaim, notifyWork } from "../../db/client";
import { llmCalls, type Project, type ProjectHost, projects } from "../../db/schema";
import { LlmError } from "../llm/errors";
import type { ProgressSnapshot } from "./events";
import { describeUnit, runUnit } from "./runner";
import { getProject, nowMs, progressOf } from "./store";
import { LeaseLost, transition, UnitInterrupted } from "./transition";
import type { PipelineDeps, WorkerMemory } from "./unit";
import { stageLabel } from "./workflow";

export interface SchedulerOptions {
  /** How long a claim lasts without renewal; a crashed process's projects are reclaimed after it. */
  leaseMs: number;
  pollMs: number;
  maxActiveProjects: number;
  unitAttempts: number;
  /** First pause between attempts of a failing unit; doubles each time. */
  retryBaseMs: number;
  /** How long `stop()` lets units in flight finish before aborting them. */
  shutdownGraceMs: number;
  /** Work only on these projects (the CLI's `write` and `resume ID`); all runnable ones otherwise. */
  onlyProjects?: number[];
  /**
   * Whose projects these are (`projects.host`): the bot runs the Discord ones, the command line its
   * own, so neither finishes the other's book where its author cannot see it.
   */
  host?: ProjectHost;
}

/** What handling a command needs of the work: the scheduler itself, or a gateway's view of it from the database. */
export interface WorkControl {
  /** Lease owner for a project being set up (held back from every scheduler until its thread is open). */
  readonly owner: string;
  /** Looks for work now (a new project, an approval). */
  wake(): void;
  /** Where the project stands in the queue for the model, if it waits (see `Scheduler.queued`). */
  queued(project: Project, ifAsked?: boolean): Promise<{ ahead: number; etaMs: number | null } | undefined>;
  /** Aborts the unit in flight for a project, where it runs here. */
  abort(projectId: number): void;
}

/** How often the queue for the model is looked at, to say where waiting projects stand. */
const QUEUE_REPORT_MS = 250;
/** A queued project's place is said again at most this often while it moves. */
const QUEUE_RESAY_MS = 3_000;

/** After aborting at shutdown, how long to wait for units to notice before leaving anyway. */
const ABORT_WAIT_MS = 2_000;

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  leaseMs: 30_000,
  pollMs: 1_000,
  maxActiveProjects: 200,
  unitAttempts: 3,
  retryBaseMs: 2_000,
  shutdownGraceMs: 10_000,
};

interface Worker {
  controller: AbortController;
  finished: Promise<void>;
}

/**
 * Claims runnable projects with a lease and advances each one unit at a time. Projects are
 * independent: one project's failure only ever changes that project's row.
 */
export class Scheduler implements WorkControl {
  readonly owner = leaseOwnerId();
  private readonly workers = new Map<number, Worker>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly options: SchedulerOptions;
  /** The holder last announced for each project another process runs. */
  private readonly announced = new Map<number, string>();
  private queueTimer: NodeJS.Timeout | undefined;
  /** Reports in a row that saw each project waiting for a model slot, and the place last said. */
  private readonly waitingSeen = new Map<number, number>();
  private readonly reportedQueue = new Map<number, { ahead: number; at: number }>();
  /** Projects known to have made a model call (kept while they are worked here). */
  private readonly started = new Set<number>();
  /** Since when each project's lease renewals have been failing (none while they succeed). */
  private readonly renewalFailedAt = new Map<number, number>();
  private unlisten: () => Promise<void> = async () => {};
  private unwatchWaits: () => void = () => {};

  constructor(
    private readonly deps: PipelineDeps,
    options: Partial<SchedulerOptions> = {},
  ) {
    this.options = { ...DEFAULT_SCHEDULER_OPTIONS, ...options };
  }

  /** Starts looking for work; resolves once the first look is over (dead leases freed, work claimed). */
  async start(): Promise<void> {
    this.stopping = false;
    // Work another process makes (a new project, an approval) is looked for at once, not at the next poll.
    this.unlisten = listenForWork(
      this.deps.db,
      () => this.wake(),
      (error) => this.deps.log.warn({ err: error }, "not listening for new work; polling for it"),
    );
    this.unwatchWaits = this.deps.llm.limit.onWait(({ project }) => {
      if (project != null) this.tellFirstWait(project);
    });
    this.timer = setInterval(() => this.tick(), this.options.pollMs);
    this.queueTimer = setInterval(() => this.reportQueue(), QUEUE_REPORT_MS);
    this.queueTimer.unref();
    this.tick();
    await this.looking;
  }

  /** Looks for work now rather than at the next poll (after an approval, a resume, a new project). */
  wake(): void {
    setImmediate(() => this.tick());
  }

  /**
   * Where the project stands in the queue for the model: its call waiting now, or where a call would
   * wait if it asked now (`ifAsked`); undefined when it is not waiting (and would not).
   */
  async queued(
    project: Project,
    ifAsked = false,
  ): Promise<{ ahead: number; etaMs: number | null } | undefined> {
    const limit = this.deps.llm.limit;
    const ahead =
      limit.positions().get(project.id) ??
      (ifAsked ? limit.positionFor({ owner: project.ownerId, project: project.id }) : undefined);
    if (ahead === undefined || (ifAsked && ahead === 0 && limit.queued === 0)) return undefined;
    return { ahead, etaMs: limit.etaMs(ahead) };
  }

  /**
   * Whether leases are being kept: renewals have not been failing for a third of a lease (after which
   * another process may soon take this one's projects).
   */
  get leasesHealthy(): boolean {
    const now = Date.now();
    for (const since of this.renewalFailedAt.values())
      if (now - since >= this.options.leaseMs / 3) return false;
    return true;
  }

  get activeProjects(): number[] {
    return [...this.workers.keys()];
  }

  /** Aborts the unit in flight for a project (cancel); its data stays. */
  abort(projectId: number): void {
    this.workers.get(projectId)?.controller.abort();
  }

  /** Stops claiming, lets units in flight finish within the grace period, then aborts them and releases leases. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearInterval(this.queueTimer);
    this.unwatchWaits();
    // A look under way finishes first: what it claimed is worked or given back before leases are released.
    await this.looking;
    const released = this.workers.size > 0;
    const all = Promise.all([...this.workers.values()].map((w) => w.finished));
    const graceOver = sleep(this.options.shutdownGraceMs, "timeout", { ref: false });
    if ((await Promise.race([all.then(() => "done"), graceOver])) === "timeout") {
      for (const worker of this.workers.values()) worker.controller.abort();
      // Work that ignores the abort (an upload in flight) is not waited for long: its lease simply expires.
      await Promise.race([all, sleep(ABORT_WAIT_MS, undefined, { ref: false })]);
    }
    await this.unlisten();
    // The projects let go are another worker's to take now, not at its next poll.
    if (released) await notifyWork(this.deps.db).catch(() => {});
  }

  /** The look for work in progress: one at a time; a wake during a look asks for another after it. */
  private looking: Promise<void> | undefined;
  private lookAgain = false;

  private tick(): void {
    if (this.looking) {
      this.lookAgain = true;
      return;
    }
    this.looking = this.look()
      .catch((error: unknown) => {
        // A busy database or a vanished file must not take the process down; the next poll tries again.
        this.deps.log.error({ err: error }, "could not claim work");
      })
      .finally(() => {
        this.looking = undefined;
        if (this.lookAgain && !this.stopping) {
          this.lookAgain = false;
          this.tick();
        }
      });
  }

  private async look(): Promise<void> {
    // Once per look for work, not per claim: a start that claims many projects reads the leases once.
    if (!this.stopping) {
      // A lease freed because its process died: its project is taken over, here or by a neighbour.
      for (const _ of await freeDeadLocalLeases(this.deps.db)) this.deps.metrics?.takeover();
    }
    while (!this.stopping && this.workers.size < this.options.maxActiveProjects) {
      const project = await this.claim();
      if (!project || this.stopping) {
        // Claimed as the process began to stop: given back at once rather than left to expire.
        if (project) await this.release(project.id);
        break;
      }
      this.spawn(project);
    }
    if (!this.stopping) await this.announceHeld();
  }

  /**
   * Atomically takes the longest-waiting runnable project whose lease is free or expired. IMMEDIATE:
   * the write lock is taken before the read, so two processes can never both upgrade the same snapshot.
   */
  private claim(): Promise<Project | undefined> {
    const now = nowMs();
    const free = or(isNull(projects.leaseOwner), lt(projects.leaseExpiresAt, now));
    const busy = [...this.workers.keys()];
    const only = this.options.onlyProjects;
    const host = this.options.host ? eq(projects.host, this.options.host) : undefined;
    return inTransaction(this.deps.db, async (tx) => {
      const [candidate] = await lockedForClaim(
        this.deps.db,
        tx
          .select({ id: projects.id, heldBy: projects.leaseOwner })
          .from(projects)
          .where(
            and(
              eq(projects.status, "running"),
              free,
              host,
              busy.length > 0 ? notInArray(projects.id, busy) : undefined,
              only ? sql`${projects.id} in ${only.length > 0 ? only : [-1]}` : undefined,
            ),
          )
          // Oldest first: a project coming back from a gate is not sent behind newer ones.
          .orderBy(projects.id)
          .limit(1),
      );
      if (!candidate) return undefined;
      const [claimed] = await tx
        .update(projects)
        // A place in a queue another process wrote is not this one's.
        .set({ leaseOwner: this.owner, leaseExpiresAt: now + this.options.leaseMs, queueAhead: null })
        .where(and(eq(projects.id, candidate.id), free))
        .returning();
      // A lease still named but expired: another process stopped renewing it.
      if (claimed && candidate.heldBy !== null) this.deps.metrics?.takeover();
      return claimed;
    });
  }

  /**
   * Says where each project whose next model call waits behind others' stands in the queue, when that
   * changes, once it has waited a moment (a call that gets its slot at once is not "queued"); and says
   * so when it no longer waits.
   */
  private reporting = false;

  private reportQueue(): void {
    if (this.reporting) return;
    this.reporting = true;
    this.sayQueue()
      .catch((error: unknown) => this.deps.log.warn({ err: error }, "could not report the queue"))
      .finally(() => {
        this.reporting = false;
      });
  }

  private async sayQueue(): Promise<void> {
    const limit = this.deps.llm.limit;
    const positions = limit.positions();
    // Each project's word is said side by side with the others': a long queue is told in one look.
    const saying: Promise<void>[] = [];
    const say = async (
      id: number,
      ahead: number,
      said: { ahead: number; at: number } | undefined,
      seen: number,
    ) => {
      // A project that has not made a call yet is queued from the first look; one between its calls
      // only once it has waited a moment. A place already said is said again every few seconds at
      // most, so a long queue moving costs few messages.
      if (seen < 2 && (await this.hasStarted(id))) return;
      if (said && Date.now() - said.at < QUEUE_RESAY_MS) return;
      this.reportedQueue.set(id, { ahead, at: Date.now() });
      await this.emitQueue(id, { ahead, etaMs: limit.etaMs(ahead) });
    };
    for (const [id, ahead] of positions) {
      const seen = (this.waitingSeen.get(id) ?? 0) + 1;
      this.waitingSeen.set(id, seen);
      const said = this.reportedQueue.get(id);
      if (said?.ahead === ahead || !this.workers.has(id)) continue;
      saying.push(say(id, ahead, said, seen));
    }
    for (const id of [...this.waitingSeen.keys()]) {
      if (positions.has(id)) continue;
      this.waitingSeen.delete(id);
      if (this.reportedQueue.delete(id)) saying.push(this.emitQueue(id, undefined));
    }
    await Promise.all(saying);
  }

  /**
   * A project's first model call has to wait: its author is told where they stand now, not at the
   * next look at the queue (a short wait could fall between two looks). Later calls are told only once
   * they have waited a moment, by the looks.
   */
  private tellFirstWait(projectId: number): void {
    if (this.started.has(projectId) || this.reportedQueue.has(projectId) || !this.workers.has(projectId))
      return;
    // Held from here, so a look under way does not say it too; a look that has said something since
    // (a slow database) has the last word.
    const holding = { ahead: -1, at: Date.now() };
    this.reportedQueue.set(projectId, holding);
    void (async () => {
      const started = await this.hasStarted(projectId);
      if (this.reportedQueue.get(projectId) !== holding) return;
      // Read after the wait for the database: a call that got its slot meanwhile is not queued.
      const ahead = this.deps.llm.limit.positions().get(projectId);
      if (started || ahead === undefined) {
        this.reportedQueue.delete(projectId);
        return;
      }
      this.reportedQueue.set(projectId, { ahead, at: Date.now() });
      // Seen waiting, so the look that finds it running says so.
      if (!this.waitingSeen.has(projectId)) this.waitingSeen.set(projectId, 0);
      await this.emitQueue(projectId, { ahead, etaMs: this.deps.llm.limit.etaMs(ahead) });
    })().catch((error: unknown) => this.deps.log.warn({ err: error }, "could not report the queue"));
  }

  private async hasStarted(projectId: number): Promise<boolean> {
    if (this.started.has(projectId)) return true;
    const made =
      (
        await this.deps.db
          .select({ id: llmCalls.id })
          .from(llmCalls)
          .where(eq(llmCalls.projectId, projectId))
          .limit(1)
      ).length > 0;
    if (made) this.started.add(projectId);
    return made;
  }

  /** Each project's last word on the queue still being said: the next is said after it, never before. */
  private readonly queueWords = new Map<number, Promise<void>>();

  private emitQueue(projectId: number, queued: ProgressSnapshot["queued"]): Promise<void> {
    const previous = this.queueWords.get(projectId) ?? Promise.resolve();
    const word = previous.catch(() => {}).then(() => this.sayPlace(projectId, queued));
    this.queueWords.set(projectId, word);
    const forget = () => {
      if (this.queueWords.get(projectId) === word) this.queueWords.delete(projectId);
    };
    word.then(forget, forget);
    return word;
  }

  private async sayPlace(projectId: number, queued: ProgressSnapshot["queued"]): Promise<void> {
    const project = await getProject(this.deps.db, projectId);
    if (project?.status !== "running") return;
    // Written down too, for a command run from another process (`folio status`).
    await this.deps.db
      .update(projects)
      .set({ queueAhead: queued?.ahead ?? null })
      .where(and(eq(projects.id, projectId), eq(projects.leaseOwner, this.owner)));
    this.deps.emit({
      type: "queued",
      projectId,
      stage: project.stage,
      label: stageLabel(project.stage),
      progress: { ...(await progressOf(this.deps.db, project)), ...(queued ? { queued } : {}) },
    });
  }

  /** Projects this process would run but another live process holds: said once per holder, in the log. */
  private async announceHeld(): Promise<void> {
    const now = nowMs();
    const only = this.options.onlyProjects;
    const rows = await this.deps.db
      .select({ id: projects.id, owner: projects.leaseOwner, until: projects.leaseExpiresAt })
      .from(projects)
      .where(
        and(
          eq(projects.status, "running"),
          gt(projects.leaseExpiresAt, now),
          this.options.host ? eq(projects.host, this.options.host) : undefined,
          only ? sql`${projects.id} in ${only.length > 0 ? only : [-1]}` : undefined,
        ),
      );
    const held = rows.filter((p) => p.owner !== this.owner);
    for (const { id, owner, until } of held) {
      if (this.announced.get(id) === owner) continue;
      this.announced.set(id, owner!);
      const at = new Date(until!).toTimeString().slice(0, 8);
      this.deps.log.info(
        { projectId: id, owner, until },
        `Project ${id} is held by ${owner} until ${at}; waiting…`,
      );
    }
  }

  private spawn(project: Project): void {
    const controller = new AbortController();
    const finished = this.work(project.id, controller).catch((error) =>
      this.deps.log.error({ err: error, projectId: project.id }, "scheduler worker failed"),
    );
    this.workers.set(project.id, { controller, finished });
  }

  private async work(projectId: number, controller: AbortController): Promise<void> {
    const renewal = setInterval(
      () => this.renew(projectId, controller),
      Math.max(50, this.options.leaseMs / 3),
    );
    const memory: WorkerMemory = {};
    try {
      while (!this.stopping && !controller.signal.aborted) {
        const project = await this.stillOurs(projectId);
        if (!project) break;
        if ((await this.runWithAttempts(project, controller.signal, memory)) === "stop") break;
      }
    } finally {
      await Promise.all([memory.digests, memory.plans]);
      clearInterval(renewal);
      this.renewalFailedAt.delete(projectId);
      this.workers.delete(projectId);
      this.started.delete(projectId);
      try {
        await this.release(projectId);
      } catch (error) {
        this.deps.log.error({ err: error, projectId }, "could not release the lease; it expires by itself");
      }
      if (!this.stopping) this.wake();
    }
  }

  /** The project, if it is still running under this process's lease. */
  private async stillOurs(projectId: number): Promise<Project | undefined> {
    const project = await getProject(this.deps.db, projectId);
    return project?.status === "running" && project.leaseOwner === this.owner ? project : undefined;
  }

  private async runWithAttempts(
    first: Project,
    signal: AbortSignal,
    memory: WorkerMemory,
  ): Promise<"ok" | "stop"> {
    const { unitAttempts, retryBaseMs } = this.options;
    let project = first;
    for (let attempt = 1; ; attempt++) {
      try {
        await runUnit({ deps: this.deps, project, owner: this.owner, signal, memory });
        this.deps.metrics?.unit("ok");
        return "ok";
      } catch (error) {
        if (error instanceof LeaseLost || error instanceof UnitInterrupted || signal.aborted) return "stop";
        const message = error instanceof Error ? error.message : String(error);
        const unit = await describeUnit(this.deps.db, project);
        const fatal = error instanceof LlmError && error.fatal;
        this.deps.metrics?.unit("failed");
        this.deps.log.warn({ projectId: project.id, unit, attempt, err: error }, "unit failed");
        if (fatal || attempt >= unitAttempts) {
          await this.markNeedsAttention(project.id, unit, message);
          return "stop";
        }
        this.deps.emit({ type: "unit_retry", projectId: project.id, unit, attempt, error: message });
        try {
          await sleep(retryBaseMs * 2 ** (attempt - 1), undefined, { signal });
        } catch {
          return "stop";
        }
        // Paused, cancelled or shutting down during the pause: no further attempt is paid for.
        const fresh = this.stopping ? undefined : await this.stillOurs(project.id);
        if (!fresh) return "stop";
        project = fresh;
      }
    }
  }

  private async markNeedsAttention(projectId: number, unit: string, error: string): Promise<void> {
    const attention = `${unit} failed: ${error}`;
    const marked = await transition(this.deps.db, projectId, {
      from: ["running"],
      lease: this.owner,
      to: { status: "needs_attention", attention },
    });
    if (marked.ok) this.deps.emit({ type: "needs_attention", projectId, unit, error });
  }

  /** Extends the lease; a lost lease or a cancellation from another process aborts the unit in flight. */
  private renew(projectId: number, controller: AbortController): void {
    this.extendLease(projectId, controller).then(
      () => this.renewalFailedAt.delete(projectId),
      (error: unknown) => {
        // The lease is only lost if renewals keep failing past its expiry; the commit checks that.
        if (!this.renewalFailedAt.has(projectId)) this.renewalFailedAt.set(projectId, Date.now());
        this.deps.log.warn({ err: error, projectId }, "could not renew the lease");
      },
    );
  }

  private async extendLease(projectId: number, controller: AbortController): Promise<void> {
    const [renewed] = await this.deps.db
      .update(projects)
      .set({ leaseExpiresAt: nowMs() + this.options.leaseMs })
      .where(and(eq(projects.id, projectId), eq(projects.leaseOwner, this.owner)))
      .returning({ status: projects.status });
    if (!renewed || renewed.status === "cancelled") controller.abort();
  }

  private async release(projectId: number): Promise<void> {
    this.reportedQueue.delete(projectId);
    this.waitingSeen.delete(projectId);
    await this.deps.db
      .update(projects)
      .set({ leaseOwner: null, leaseExpiresAt: null, queueAhead: null })
      .where(and(eq(projects.id, projectId), eq(projects.leaseOwner, this.owner)));
  }
}

/** A new lease owner's name, `host:pid:nonce`: whose lease it is, and whether that process still lives. */
export function leaseOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * The work as a gateway process sees it, with the schedulers in worker processes: they look for new
 * work every `FOLIO_POLL_MS`, write a waiting project's place on its row, and abort a cancelled unit
 * at their next lease renewal.
 */
export function workersElsewhere(db: Db): WorkControl {
  return {
    owner: leaseOwnerId(),
    wake() {
      notifyWork(db).catch(() => {
        // The workers poll as well: a lost notice only costs them a moment.
      });
    },
    async queued(project, ifAsked = false) {
      const ahead = (await getProject(db, project.id))?.queueAhead;
      if (ahead !== null && ahead !== undefined) return { ahead, etaMs: null };
      if (!ifAsked) return undefined;
      // A project asking now goes behind those the workers say are waiting.
      const [row] = await db
        .select({ n: count() })
        .from(projects)
        .where(and(eq(projects.status, "running"), isNotNull(projects.queueAhead)));
      const waiting = row?.n ?? 0;
      return waiting > 0 ? { ahead: waiting, etaMs: null } : undefined;
    },
    abort() {},
  };
}

/**
 * A lease owner is `host:pid:nonce`. One held by a process of this host that no longer exists (killed,
 * crashed) is released at once rather than left to expire: a restart takes its work back straight away.
 */
export async function freeDeadLocalLeases(db: Db): Promise<number[]> {
  const now = nowMs();
  const held = await db
    .select({ id: projects.id, owner: projects.leaseOwner })
    .from(projects)
    .where(and(like(projects.leaseOwner, `${hostname()}:%`), gt(projects.leaseExpiresAt, now)));
  const freed: number[] = [];
  for (const { id, owner } of held) {
    if (!owner?.startsWith(`${hostname()}:`)) continue;
    const pid = leaseOwnerPid(owner);
    if (pid === undefined || pid === process.pid || processExists(pid)) continue;
    const released = await db
      .update(projects)
      .set({ leaseOwner: null, leaseExpiresAt: null })
      .where(and(eq(projects.id, id), eq(projects.leaseOwner, owner)))
      .returning({ id: projects.id });
    if (released.length > 0) freed.push(id);
  }
  return freed;
}

/** The process id in a lease owner `host:pid:nonce`, if it is one. */
export function leaseOwnerPid(owner: string | null): number | undefined {
  const parts = owner?.split(":") ?? [];
  const pid = Number(parts.at(-2));
  return parts.length >= 3 && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
