import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Db } from "../../db/client";
import type { DiscordThread } from "../../db/schema";
import type { ProgressSnapshot } from "../pipeline/events";
import type { ThreadPoster } from "./poster";
import { setProgressMessage, threadOf } from "./threads";
import { progressEmbed } from "./views";

interface Pending {
  label: string;
  snapshot: ProgressSnapshot;
  finished: boolean;
}

interface State {
  lastEdit: number;
  /** Since when the pending edit has been giving way to other requests. */
  blockedSince?: number;
  /**
   * Interval renders queued or under way. While one is, the timer waits for it: the render schedules
   * whatever is pending when it ends, so two edits never go back to back.
   */
  rendering: number;
  timer?: NodeJS.Timeout;
  pending?: Pending;
  /** The project's progress message and the stage it shows, as last read or posted (unknown at first). */
  shown?: { messageId: string | null; label: string | null };
}

/**
 * Progress edits the whole bot sends per second at most, well under Discord's global limit of 50
 * requests a second, so gate and delivery messages always have room.
 */
const EDITS_PER_SECOND = 20;
/**
 * Requests of each of the bot's global windows that progress edits leave to everything else: an edit
 * waits for the next window rather than take one of these, or while any other request is held for the
 * next window, so a gate, a delivery or a reply to a command is not held back behind progress. (A new
 * progress message, such as the first word that a project is queued, is news: it goes like any post.)
 */
const RESERVED_FOR_OTHERS = 5;
/**
 * On a server so busy that other messages fill every window, an edit that has waited this long still
 * goes, a few a second across the bot, so progress slows down rather than stops.
 */
const EDIT_PATIENCE_MS = 2_000;
const OVERDUE_EDITS_PER_SECOND = 3;

/**
 * One progress message per stage and project, edited in place: at most one edit per `intervalMs`
 * per project — longer when many projects are showing progress, so that all of them together stay
 * within `EDITS_PER_SECOND` — later updates replacing earlier unsent ones. The message id lives in the
 * thread's row, so a restarted bot keeps editing the same message; a deleted message is replaced by a
 * new one. A project's state is let go once its last message is finished.
 */
export class LiveProgress {
  private readonly states = new Map<number, State>();
  /**
   * When each progress post or edit of the last second was answered, by every project together. A
   * request counts against the budget from the moment it goes until a second after its answer, and
   * goes only when that leaves room: however long it then takes to arrive, no second of Discord's sees
   * more than `EDITS_PER_SECOND` of them.
   */
  private readonly sent: number[] = [];
  /** Progress posts and edits sent and not yet answered. */
  private inFlight = 0;
  /** When each overdue edit of the last second was let go ahead of other messages. */
  private readonly overdue: number[] = [];

  constructor(
    private readonly db: Db,
    private readonly poster: ThreadPoster,
    private readonly log: Logger,
    private readonly enqueue: (projectId: number, task: () => Promise<void>) => Promise<void>,
    private readonly intervalMs = 3000,
  ) {}

  update(projectId: number, label: string, snapshot: ProgressSnapshot, finished = false): void {
    let state = this.states.get(projectId);
    if (!state) {
      const fresh: State = { lastEdit: 0, rendering: 0 };
      state = fresh;
      this.states.set(projectId, fresh);
      // Whether the next update edits a message or posts one, known before it is due.
      threadOf(this.db, projectId).then(
        (thread) => {
          if (thread && !fresh.shown) fresh.shown = shownIn(thread);
        },
        (error: unknown) => this.log.warn({ err: error, projectId }, "could not read the progress message"),
      );
    }
    const previous = state.pending;
    if (previous && previous.label !== label) {
      // A new stage gets a new message; the last word of the old one must not be lost by coalescing.
      void this.enqueue(projectId, () => this.withinBudget(() => this.render(projectId, state, previous)));
    }
    state.pending = { label, snapshot, finished };
    if (!state.timer) this.schedule(projectId, state);
  }

  /**
   * Waits out the interval since the last edit *finished* (a slow edit pushes the next one back),
   * then sends whatever is pending by then.
   */
  private schedule(projectId: number, state: State): void {
    const interval = this.interval();
    const wait = Math.max(0, state.lastEdit + interval - Date.now(), this.budgetWait(projectId, state));
    state.timer = setTimeout(() => {
      state.timer = undefined;
      // The render under way schedules what is pending once it has ended.
      if (state.rendering > 0) return;
      if (Date.now() < state.lastEdit + this.interval() || this.budgetWait(projectId, state, true) > 0) {
        this.schedule(projectId, state);
        return;
      }
      const next = state.pending;
      state.pending = undefined;
      state.blockedSince = undefined;
      if (next) void this.queueRender(projectId, state, next);
    }, wait);
  }

  /**
   * Each project's time between edits: `intervalMs`, stretched so all projects showing progress (those
   * with a state: it goes when their message is finished) fit the budget.
   */
  private interval(): number {
    return Math.max(this.intervalMs, Math.ceil((1000 * this.states.size) / EDITS_PER_SECOND));
  }

  /**
   * Makes one progress request once the budget has room, counting it until a second after its answer.
   * `share`: the part of the budget this kind of request may fill; a status card's edit, less urgent
   * than progress news such as a place in the queue, takes only half, so it never crowds news out.
   */
  async withinBudget(request: () => Promise<void>, share = 1): Promise<void> {
    for (let wait = this.roomIn(share); wait > 0; wait = this.roomIn(share)) await sleep(wait);
    this.inFlight++;
    try {
      await request();
    } finally {
      this.inFlight--;
      this.sent.push(Date.now());
    }
  }

  /** How long until one more progress request fits `share` of the budget (0: now). */
  private roomIn(share = 1): number {
    const now = Date.now();
    while (this.sent.length > 0 && this.sent[0]! <= now - 1000) this.sent.shift();
    const budget = Math.max(1, Math.floor(EDITS_PER_SECOND * share));
    if (this.sent.length + this.inFlight < budget) return 0;
    // Full: looked at again when the oldest request leaves the window, or shortly.
    const leaves = this.sent.length - budget + this.inFlight;
    const oldest = this.sent[Math.max(0, Math.min(this.sent.length - 1, leaves))];
    return oldest !== undefined ? Math.max(1, oldest + 1000 - now + 1) : 20;
  }

  /**
   * How long until the whole bot may send this project's pending update: within the edits' own budget,
   * and, for an edit, after any other request held for the next window and leaving the reserved part
   * of the current one (`going`: it is sent now if this says 0).
   */
  private budgetWait(projectId: number, state: State, going = false): number {
    const now = Date.now();
    while (this.overdue.length > 0 && this.overdue[0]! <= now - 1000) this.overdue.shift();
    const own = this.roomIn();
    if (own > 0 || !state.pending || !this.edits(projectId, state.pending.label)) return own;
    const { left, resetInMs, held } = this.poster.headroom();
    if (!held && left - this.inFlight > RESERVED_FOR_OTHERS) return 0;
    state.blockedSince ??= now;
    const overdue = now - state.blockedSince >= EDIT_PATIENCE_MS;
    if (overdue && this.overdue.length < OVERDUE_EDITS_PER_SECOND) {
      if (going) this.overdue.push(now);
      return 0;
    }
    // The edit looks again once the requests held have gone, or the window has turned.
    return Math.max(resetInMs + 1, 20);
  }

  /** Whether showing `label` edits the project's progress message (rather than posting a new one). */
  private edits(projectId: number, label: string): boolean {
    const shown = this.states.get(projectId)?.shown;
    return shown?.messageId != null && shown.label === label;
  }

  /** Sends what is pending now, ignoring the interval (shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.states.keys()].map((projectId) => this.flushProject(projectId)));
  }

  /** Queues the project's pending update now, ignoring the interval (before its book is posted). */
  flushProject(projectId: number): Promise<void> {
    const state = this.states.get(projectId);
    if (!state) return Promise.resolve();
    clearTimeout(state.timer);
    state.timer = undefined;
    const next = state.pending;
    state.pending = undefined;
    state.blockedSince = undefined;
    return next ? this.queueRender(projectId, state, next) : Promise.resolve();
  }

  /** Queues an interval's render behind the project's posts; it counts against the budget once it goes. */
  private queueRender(projectId: number, state: State, next: Pending): Promise<void> {
    state.rendering++;
    return this.enqueue(projectId, async () => {
      try {
        await this.withinBudget(() => this.render(projectId, state, next));
      } finally {
        state.rendering--;
        const current = this.states.get(projectId) === state; // not stopped or let go meanwhile
        if (current && state.rendering === 0 && state.pending && !state.timer)
          this.schedule(projectId, state);
      }
    });
  }

  stop(): void {
    for (const state of this.states.values()) clearTimeout(state.timer);
    this.states.clear();
  }

  private async render(projectId: number, state: State, next: Pending): Promise<void> {
    const thread = await threadOf(this.db, projectId);
    if (!thread) return;
    state.shown = shownIn(thread);
    try {
      await this.show(thread, next, state);
    } finally {
      state.lastEdit = Date.now();
      // Nothing more to show for a finished message: the project's state goes until its next update.
      if (next.finished && !state.pending && !state.timer) this.states.delete(projectId);
    }
  }

  private async show(thread: DiscordThread, next: Pending, state: State): Promise<void> {
    const { projectId, threadId } = thread;
    const payload = { embeds: [progressEmbed(next.label, next.snapshot, next.finished)] };
    if (thread.progressMessageId && thread.progressStage === next.label) {
      const outcome = await this.poster.edit(threadId, thread.progressMessageId, payload);
      if (outcome === "edited") return;
      this.log.info({ projectId }, "progress message was deleted; posting a new one");
    }
    const message = await this.poster.send(threadId, payload);
    state.shown = { messageId: message.id, label: next.label };
    await setProgressMessage(this.db, projectId, message.id, next.label);
  }
}

const shownIn = (thread: DiscordThread) => ({
  messageId: thread.progressMessageId,
  label: thread.progressStage,
});
