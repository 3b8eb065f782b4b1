import type { Logger } from "pino";
import type { Db } from "../../db/client";
import { getProject, progressOf } from "../pipeline/store";
import type { ThreadPoster } from "./poster";
import { threadOf } from "./threads";
import { statusCard } from "./views";

interface CardState {
  timer?: NodeJS.Timeout;
  lastEdit: number;
  /** The project's place in the queue and the wait, as its last queue event said. */
  queued?: { ahead: number; etaMs: number | null };
}

/**
 * The status card posted first in each project's thread, edited whenever the project's state changes
 * (stage, gate, queue, pause, attention, delivery), at most once per interval per project and within
 * the progress edits' budget. An edit reads the project afresh, so changes close together make one
 * edit showing the latest. A card's edits go one after another, apart from the project's posts: an
 * edit waiting for the budget never holds back a gate or the book. A card deleted by someone is left
 * deleted: the thread's first message is not posted again at its bottom.
 */
export class StatusCards {
  private readonly states = new Map<number, CardState>();
  /** Each project's card edits, in order: the one under way and those queued behind it. */
  private readonly editing = new Map<number, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly poster: ThreadPoster,
    private readonly log: Logger,
    private readonly budgeted: (request: () => Promise<void>) => Promise<void>,
    private readonly intervalMs = 3000,
  ) {}

  /**
   * The project's state changed; `queued`: its place in the queue changed (null: it no longer waits).
   * The card is edited once the interval since its last edit has passed.
   */
  changed(projectId: number, queued?: CardState["queued"] | null): void {
    let state = this.states.get(projectId);
    if (!state) {
      state = { lastEdit: 0 };
      this.states.set(projectId, state);
    }
    if (queued === null) state.queued = undefined;
    else if (queued) state.queued = queued;
    if (state.timer) return;
    const card = state;
    card.timer = setTimeout(
      () => {
        card.timer = undefined;
        void this.edit(projectId, card);
      },
      Math.max(0, card.lastEdit + this.intervalMs - Date.now()),
    );
  }

  /** Edits now every card with a change waiting (shutdown, before a book is posted, tests). */
  async flush(projectId?: number): Promise<void> {
    const due = [...this.states].filter(
      ([id, s]) => s.timer && (projectId === undefined || id === projectId),
    );
    await Promise.all(
      due.map(([id, state]) => {
        clearTimeout(state.timer);
        state.timer = undefined;
        return this.edit(id, state);
      }),
    );
  }

  stop(): void {
    for (const state of this.states.values()) clearTimeout(state.timer);
    this.states.clear();
  }

  private edit(projectId: number, state: CardState): Promise<void> {
    const next = (this.editing.get(projectId) ?? Promise.resolve())
      .then(() =>
        this.budgeted(async () => {
          try {
            await this.show(projectId, state);
          } finally {
            state.lastEdit = Date.now();
            // A finished project's card does not change again; its state goes.
            if (!state.timer && this.states.get(projectId) === state) {
              const project = await getProject(this.db, projectId);
              if (!project || project.status === "done" || project.status === "cancelled")
                this.states.delete(projectId);
            }
          }
        }),
      )
      .catch((error: unknown) => {
        this.log.warn({ err: error, projectId }, "could not edit the project's status card");
      });
    this.editing.set(projectId, next);
    void next.then(() => {
      if (this.editing.get(projectId) === next) this.editing.delete(projectId);
    });
    return next;
  }

  private async show(projectId: number, state: CardState): Promise<void> {
    const thread = await threadOf(this.db, projectId);
    const project = await getProject(this.db, projectId);
    if (!thread?.statusMessageId || !project) return;
    const progress = await progressOf(this.db, project);
    // The place the scheduler wrote down, with the wait its last queue event gave.
    const queued =
      project.status === "running" && project.queueAhead !== null
        ? { queued: { ahead: project.queueAhead, etaMs: state.queued?.etaMs ?? null } }
        : {};
    const outcome = await this.poster.edit(thread.threadId, thread.statusMessageId, {
      embeds: [statusCard(project, { ...progress, ...queued })],
    });
    if (outcome === "missing")
      this.log.info({ projectId }, "the status card was deleted; it is not posted again");
  }
}
