// Over 300 lines: every pipeline event is turned into thread messages here (progress, chapters, gates,
// notices, the status card), so the order of a thread's messages is decided in one place.
import { AttachmentBuilder, type MessageCreateOptions } from "discord.js";
import type { Logger } from "pino";
import type { Db } from "../../db/client";
import type { Project } from "../../db/schema";
import type { GateStage } from "../../stages/definition";
import { renderChapterMarkdown } from "../export/markdown";
import { arcChart, outlineArc } from "../pictures/arc";
import type { ProgressEvent, ProgressSink, ProgressSnapshot } from "../pipeline/events";
import { gateView } from "../pipeline/notes";
import { chapterScenes, getProject, progressOf } from "../pipeline/store";
import { gateAt, presentedByNextGate, type StageId, stageOf } from "../pipeline/workflow";
import { countWords } from "../text/words";
import { LiveProgress } from "./live-progress";
import type { ThreadPoster } from "./poster";
import { StatusCards } from "./status-card";
import {
  chapterPosted,
  owedNotices,
  setChapterPosted,
  setNotice,
  threadOf,
  unpostedChapters,
} from "./threads";
import { COLORS, chapterMessage, embed, gateButtons, markdownFile, retryButton } from "./views";

/**
 * Renders pipeline events in each project's thread. Posting never blocks the pipeline: each project
 * has its own queue of Discord calls, run in order; a failed post is logged and the next one goes on.
 */
export class DiscordSink {
  private readonly queues = new Map<number, Promise<void>>();
  /** The last part shown of each planning stage in parts, by project and stage, to finish its card. */
  private readonly stepped = new Map<string, NonNullable<ProgressSnapshot["step"]>>();
  readonly progress: LiveProgress;
  /** The status card at the top of each thread. */
  readonly cards: StatusCards;
  /** Projects whose gate or needs-attention message this process is posting. */
  private readonly noticing = new Set<number>();

  constructor(
    private readonly db: Db,
    private readonly poster: ThreadPoster,
    private readonly log: Logger,
    progressIntervalMs = 3000,
  ) {
    this.progress = new LiveProgress(
      db,
      poster,
      log,
      (id, task) => this.enqueue(id, task),
      progressIntervalMs,
    );
    this.cards = new StatusCards(
      db,
      poster,
      log,
      (request) => this.progress.withinBudget(request, 0.5),
      progressIntervalMs,
    );
  }

  /**
   * Each project's events, shown one after another in the order they came (each one reads the
   * project's thread and state first); posting them is the queue's (`enqueue`).
   */
  private readonly showing = new Map<number, Promise<void>>();

  readonly sink: ProgressSink = (event) => {
    const { projectId } = event;
    if (CARD_CHANGES.has(event.type))
      this.cards.changed(projectId, event.type === "queued" ? (event.progress.queued ?? null) : undefined);
    const next = (this.showing.get(projectId) ?? Promise.resolve())
      .then(async () => {
        const threadId = await this.threadIdOf(projectId);
        if (threadId) await this.render(threadId, event);
        // A finished project's thread is not looked for again (a new event reads it afresh).
        if (event.type === "done") this.threadIds.delete(projectId);
      })
      .catch((error: unknown) => {
        this.log.warn({ err: error, projectId }, "could not show an event in the project's thread");
      });
    this.showing.set(projectId, next);
    void next.then(() => {
      if (this.showing.get(projectId) === next) this.showing.delete(projectId);
    });
  };

  /** Each project's thread, once read: a project's thread never changes, so events do not read it again. */
  private readonly threadIds = new Map<number, string>();

  private async threadIdOf(projectId: number): Promise<string | undefined> {
    const known = this.threadIds.get(projectId);
    if (known) return known;
    const thread = await threadOf(this.db, projectId);
    if (thread) this.threadIds.set(projectId, thread.threadId);
    return thread?.threadId;
  }

  /** Waits for every queued post and pending progress edit (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.showing.values()]);
    await this.progress.flush();
    await this.cards.flush();
    await Promise.all([...this.queues.values()]);
  }

  /**
   * Resolves once every message owed so far for the project has been posted (or given up): its events,
   * its queue, and its progress update still waiting for its interval.
   */
  async settled(projectId: number): Promise<void> {
    await this.showing.get(projectId);
    void this.progress.flushProject(projectId);
    await this.queues.get(projectId);
  }

  enqueue(projectId: number, task: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(projectId) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => {
      this.log.warn({ err: error, projectId }, "could not update the project's thread");
    });
    this.queues.set(projectId, next);
    // An idle project keeps no queue: the map holds only projects with posts in flight.
    void next.then(() => {
      if (this.queues.get(projectId) === next) this.queues.delete(projectId);
    });
    return next;
  }

  /**
   * A gate or needs-attention message: its id is stored with the state it was made for (the project's
   * status version when the event arrived, right after the commit), so a bot that died before posting it
   * can tell after a restart that it is still owed, and a late post never covers a newer state.
   */
  private async postNotice(
    projectId: number,
    threadId: string,
    payload: MessageCreateOptions,
  ): Promise<void> {
    const version = (await getProject(this.db, projectId))?.statusVersion ?? 0;
    this.noticing.add(projectId);
    void this.enqueue(projectId, async () => {
      try {
        const message = await this.poster.send(threadId, payload);
        await setNotice(this.db, projectId, message.id, version);
      } finally {
        this.noticing.delete(projectId);
      }
    });
  }

  /**
   * Posts the gate or needs-attention message of every project that waits without one. `settledMs`:
   * only for projects that have waited at least that long (a later look, which leaves the message
   * that the process at the gate is posting to that process), and none this process is posting.
   */
  async repostMissingNotices(settledMs = 0): Promise<void> {
    const before = Date.now() - settledMs;
    const owed = (await owedNotices(this.db)).filter(
      (p) => p.updatedAt <= before && !this.noticing.has(p.id),
    );
    for (const project of owed) {
      try {
        this.sink(owedEvent(project, await progressOf(this.db, project)));
      } catch (error) {
        // One project's unreadable state must not keep the bot from starting for everyone else.
        this.log.error({ err: error, projectId: project.id }, "could not post the message a project is owed");
      }
    }
  }

  /**
   * A drafted chapter, once, unless its author turned chapter messages off; first any earlier chapter
   * whose message was lost (a bot stopped between the chapter's commit and its post). Whether a chapter
   * was posted is read in the project's queue, right before its post, so two events never post it twice.
   */
  private postChapter(threadId: string, e: ChapterDrafted): void {
    void this.enqueue(e.projectId, async () => {
      for (const owed of await this.owedChapters(e.projectId, e.stage, e.chapter))
        await this.sendChapter(threadId, owed);
      await this.sendChapter(threadId, e);
    });
  }

  /** Chapters before `before` (every one when absent) drafted whole and never shown, as their events. */
  private async owedChapters(
    projectId: number,
    stage: StageId,
    before = Number.POSITIVE_INFINITY,
  ): Promise<ChapterDrafted[]> {
    const thread = await threadOf(this.db, projectId);
    // A project started before chapter messages existed has no status card either: it is not caught up.
    if (!thread?.statusMessageId) return [];
    const owed = (await unpostedChapters(this.db, projectId)).filter((c) => c.number < before);
    const events: ChapterDrafted[] = [];
    for (const chapter of owed) {
      const written = await chapterScenes(this.db, projectId, chapter.number);
      events.push({
        type: "chapter_drafted",
        projectId,
        stage,
        chapter: chapter.number,
        title: chapter.title,
        words: written.reduce((sum, s) => sum + countWords(s.text), 0),
        scenes: written,
      });
    }
    return events;
  }

  private async sendChapter(threadId: string, e: ChapterDrafted): Promise<void> {
    const project = await getProject(this.db, e.projectId);
    if (!project?.showChapters || (await chapterPosted(this.db, e.projectId, e.chapter))) return;
    const markdown = renderChapterMarkdown({ number: e.chapter, title: e.title, scenes: e.scenes });
    const message = await this.poster.send(threadId, chapterMessage(e, markdown));
    await setChapterPosted(this.db, e.projectId, e.chapter, message.id);
  }

  /** A message no later look posts again (a stage's summary, a pause): tried until it goes, within reason. */
  private post(projectId: number, threadId: string, payload: MessageCreateOptions): void {
    void this.enqueue(projectId, async () => {
      await this.poster.sendPatiently(threadId, payload);
    });
  }

  private async render(threadId: string, e: ProgressEvent): Promise<void> {
    switch (e.type) {
      case "stage_started": {
        const stage = stageOf(e.stage);
        // A loop over every scene shows its progress from the start; a single redraft, once written.
        if (stage?.kind === "scenes" && !redraftsOne(e.stage))
          this.progress.update(
            e.projectId,
            e.label,
            await progressOf(this.db, (await getProject(this.db, e.projectId))!),
          );
        return;
      }
      case "stage_finished": {
        const kind = stageOf(e.stage)?.kind;
        if (kind === "scenes") {
          this.progress.update(e.projectId, e.label, e.progress, true);
          return;
        }
        if (kind === "revision" || kind === "validation")
          this.progress.update(e.projectId, e.label, e.progress, true);
        // A planning stage that showed its parts finishes its card with all of them done.
        const step = this.stepped.get(`${e.projectId}:${e.stage}`);
        if (step) {
          this.stepped.delete(`${e.projectId}:${e.stage}`);
          const all = { ...step, done: step.total };
          this.progress.update(e.projectId, e.label, { ...e.progress, step: all }, true);
        }
        // An artifact the next gate presents is posted with its buttons there, or here when there is no gate.
        const shownAtGate =
          presentedByNextGate(e.stage) && !(await getProject(this.db, e.projectId))?.autoApprove;
        this.post(e.projectId, threadId, {
          embeds: [embed(`✅ ${e.label}`, e.summary, COLORS.success)],
          files: shownAtGate ? [] : e.artifacts.map(markdownFile),
        });
        return;
      }
      case "scene_drafted":
        // A redraft is one scene: its card is finished as soon as it is written.
        this.progress.update(e.projectId, e.label, e.progress, redraftsOne(e.stage));
        return;
      case "scene_writing":
        this.progress.update(e.projectId, e.label, e.progress);
        return;
      case "chapter_drafted":
        this.postChapter(threadId, e);
        return;
      case "queued":
        // The stage's progress message says where the project stands in the queue, until it runs.
        this.progress.update(e.projectId, e.label, e.progress);
        return;
      case "stage_step":
        this.stepped.set(`${e.projectId}:${e.stage}`, e.progress.step!);
        this.progress.update(e.projectId, e.label, e.progress);
        return;
      case "scene_revised":
        this.progress.update(e.projectId, e.label, {
          ...e.progress,
          scenesDone: e.done,
          sceneCount: e.total,
        });
        return;
      case "gate": {
        const gate = gateAt(e.stage);
        // The draft's chapters are all shown before the gate that presents the draft.
        if (gate?.redrafts)
          void this.enqueue(e.projectId, async () => {
            for (const owed of await this.owedChapters(e.projectId, e.stage))
              await this.sendChapter(threadId, owed);
          });
        if (gate) await this.postNotice(e.projectId, threadId, await this.gateMessage(e, gate));
        return;
      }
      case "needs_attention":
        await this.postNotice(e.projectId, threadId, {
          embeds: [
            embed(
              "⚠️ Needs attention",
              `**${e.unit}** failed after its retries:\n${e.error}\n\nEverything written so far is saved. Fix the cause (for example the model endpoint), then press **Retry** or run \`/novel retry\`.`,
              COLORS.danger,
            ),
          ],
          components: retryButton(e.projectId),
        });
        return;
      case "paused":
        this.post(e.projectId, threadId, { embeds: [embed("⏸️ Paused", e.reason, COLORS.warning)] });
        return;
      case "unit_retry":
      case "done":
        return;
    }
  }

  /** The gate's own presentation, with the buttons for what it offers and what each one does. */
  private async gateMessage(
    e: Extract<ProgressEvent, { type: "gate" }>,
    gate: GateStage,
  ): Promise<MessageCreateOptions> {
    const view = await gateView(this.db, e.projectId, e.progress);
    const shown = gate.present(view);
    const attached = shown.artifacts.length > 0 ? `; the full ${gate.subject} is attached.` : "";
    // The outline's arc, drawn: tension by scene, beats, chapters and their planned words.
    const arc = gate.revises ? outlineArc(view.plan) : undefined;
    // A chart that cannot be drawn leaves the gate without it, never without its message.
    const picture = arc
      ? await arcChart(arc).catch((error: unknown) => {
          this.log.warn({ err: error, projectId: e.projectId }, "could not draw the outline's arc");
          return undefined;
        })
      : undefined;
    // The buttons' meaning first: if the chapter list is long, it is the part that gets cut.
    const description = [
      ...(shown.summary ? [`${shown.summary}${attached}`] : []),
      gate.revises
        ? "**Approve** to start drafting, **Revise…** to regenerate the outline with your notes, or **Cancel**."
        : "**Start revision** to run the revision stages and deliver the manuscript, **Export draft now** for the draft as it is, or **Redraft a scene…** with notes (the old version is kept).",
      ...(shown.lines.length > 0 ? ["", ...shown.lines.map((l) => `**${l.label}** — ${l.detail}`)] : []),
    ].join("\n");
    return {
      embeds: [embed(`${shown.icon} ${shown.title}`, description, gate.revises ? undefined : COLORS.success)],
      files: [
        ...shown.artifacts.map(markdownFile),
        ...(picture
          ? [new AttachmentBuilder(picture.png, { name: "arc.png", description: picture.description })]
          : []),
      ],
      components: gateButtons(gate, e.projectId),
    };
  }
}

type ChapterDrafted = Extract<ProgressEvent, { type: "chapter_drafted" }>;

/** The events that change what a project's status card says. */
const CARD_CHANGES = new Set<ProgressEvent["type"]>([
  "stage_started",
  "stage_finished",
  "chapter_drafted",
  "gate",
  "queued",
  "paused",
  "needs_attention",
  "done",
]);

/** A scene loop that writes the one scene the author asked for, rather than every scene in order. */
function redraftsOne(stageId: string): boolean {
  const stage = stageOf(stageId);
  return stage?.kind === "scenes" && stage.scenes === "requested";
}

/** The event whose message a waiting or stopped project is still owed. */
function owedEvent(project: Project, progress: ProgressSnapshot): ProgressEvent {
  if (project.status === "waiting")
    return { type: "gate", projectId: project.id, stage: project.stage, progress };
  const [unit, ...rest] = (project.attention ?? "The last unit failed: unknown error").split(" failed: ");
  return {
    type: "needs_attention",
    projectId: project.id,
    unit: unit ?? "The last unit",
    error: rest.join(" failed: "),
  };
}
