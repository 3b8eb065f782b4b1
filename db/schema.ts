import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { StageId } from "../src/pipeline/workflow";

const now = sql`(cast(unixepoch('subsecond') * 1000 as integer))`;

/** Where a project stands: running (or queued to run), at a gate, stopped by the author or by a failure, or ended. */
export const PROJECT_STATUSES = [
  "running",
  "waiting",
  "paused",
  "needs_attention",
  "done",
  "cancelled",
] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export const PROJECT_HOSTS = ["discord", "cli"] as const;
export type ProjectHost = (typeof PROJECT_HOSTS)[number];

/** The unit of scheduling: one novel, its position in the pipeline and its lease. */
export const projects = sqliteTable(
  "projects",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ownerId: text("owner_id").notNull(),
    /** Who runs the project and talks to its author: the Discord bot (in a thread) or the command line. */
    host: text("host", { enum: PROJECT_HOSTS }).notNull().default("cli"),
    premise: text("premise").notNull(),
    title: text("title"),
    genre: text("genre"),
    voice: text("voice"),
    sceneCount: integer("scene_count").notNull(),
    targetWords: integer("target_words").notNull(),
    autoApprove: integer("auto_approve", { mode: "boolean" }).notNull().default(false),
    /** Each chapter is shown to the author as soon as its last scene is drafted (Discord: a message). */
    showChapters: integer("show_chapters", { mode: "boolean" }).notNull().default(true),
    status: text("status", { enum: PROJECT_STATUSES }).notNull().default("running"),
    /** Position in the pipeline: the next unit to run (see src/pipeline/workflow.ts). */
    stage: text("stage").$type<StageId>().notNull().default("concept"),
    attention: text("attention"),
    /** Author's notes for the next outline revision or scene redraft. */
    revisionNotes: text("revision_notes"),
    /** The scene a pending redraft applies to. */
    redraftScene: integer("redraft_scene"),
    exportPath: text("export_path"),
    /** Counts changes of status, so a host can tell which state a message it posted belongs to. */
    statusVersion: integer("status_version").notNull().default(0),
    leaseOwner: text("lease_owner"),
    leaseExpiresAt: integer("lease_expires_at"),
    /**
     * While the project's next model call waits behind other projects': how many, as the process
     * running it last said (null when it is not waiting), so another process can show it too.
     */
    queueAhead: integer("queue_ahead"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    index("projects_runnable").on(t.status, t.leaseExpiresAt),
    index("projects_owner").on(t.ownerId),
    index("projects_host").on(t.host),
  ],
);

/** Where a Discord project lives and the messages the bot keeps editing there; one row per project. */
export const discordThreads = sqliteTable(
  "discord_threads",
  {
    projectId: integer("project_id")
      .primaryKey()
      .references(() => projects.id, { onDelete: "cascade" }),
    guildId: text("guild_id").notNull(),
    channelId: text("channel_id").notNull(),
    threadId: text("thread_id").notNull(),
    /** The message showing live progress for the current stage, edited in place. */
    /** The status card posted first in the thread, edited as the project moves on. */
    statusMessageId: text("status_message_id"),
    progressMessageId: text("progress_message_id"),
    progressStage: text("progress_stage"),
    /** The gate or needs-attention message, and the project's `status_version` it was posted for. */
    noticeMessageId: text("notice_message_id"),
    noticeVersion: integer("notice_version"),
    /**
     * The finished book's post: the nonce it is sent with (stored before the post, so a retry sends
     * the same one and Discord hands back the message it already made), then the message once posted.
     */
    deliveryNonce: text("delivery_nonce"),
    deliveryMessageId: text("delivery_message_id"),
  },
  (t) => [uniqueIndex("discord_threads_thread").on(t.threadId), index("discord_threads_guild").on(t.guildId)],
);

export type DiscordThread = typeof discordThreads.$inferSelect;

/** The message that showed each drafted chapter in a project's thread, so it is posted once. */
export const discordChapters = sqliteTable(
  "discord_chapters",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    chapter: integer("chapter").notNull(),
    messageId: text("message_id").notNull(),
  },
  (t) => [uniqueIndex("discord_chapters_pk").on(t.projectId, t.chapter)],
);

/**
 * The author's note on a chapter, to steer revision: one per chapter (a new one replaces it), editable
 * until revision starts; self-refinement reads it first for every scene of the chapter.
 */
export const chapterNotes = sqliteTable(
  "chapter_notes",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    chapter: integer("chapter").notNull(),
    text: text("text").notNull(),
    /** Who wrote it (a Discord user id, or "cli"). */
    authorId: text("author_id").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("chapter_notes_pk").on(t.projectId, t.chapter)],
);

export type ChapterNote = typeof chapterNotes.$inferSelect;

/** Every planning artifact ever produced; the newest row per (project, stage) is the current one. */
export const stageOutputs = sqliteTable(
  "stage_outputs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    stage: text("stage").notNull(),
    data: text("data", { mode: "json" }).notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("stage_outputs_lookup").on(t.projectId, t.stage, t.id)],
);

export const chapters = sqliteTable(
  "chapters",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    title: text("title").notNull(),
    summary: text("summary"),
  },
  (t) => [uniqueIndex("chapters_pk").on(t.projectId, t.number)],
);

export const scenes = sqliteTable(
  "scenes",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    chapter: integer("chapter").notNull(),
    title: text("title").notNull(),
    /** The outline card (see stages/outline.ts `SceneCard`). */
    card: text("card", { mode: "json" }).notNull(),
    targetWords: integer("target_words").notNull(),
    text: text("text"),
    words: integer("words").notNull().default(0),
    summary: text("summary"),
    facts: text("facts", { mode: "json" }).$type<string[]>(),
    /** A hash of the text the digest (summary, facts, ledger rows) was made from; stale when it differs. */
    digestOf: text("digest_of"),
    /** The scene's beat plan, with words per beat (see stages/draft.ts `Beat`); null until planned. */
    beats: text("beats", { mode: "json" }).$type<{ what: string; words: number }[]>(),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("scenes_pk").on(t.projectId, t.number)],
);

/**
 * The story-state ledger: what each scene changed, as its digest recorded it — one row per character
 * it shows (where they are, their condition, what they learned and told, what they hold, how their
 * relationships moved) and per thread it opened or closed. The state as of any scene is rebuilt from
 * the rows of the scenes before it; a scene's rows are replaced whenever it is digested again.
 */
export const storyState = sqliteTable(
  "story_state",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    sceneNumber: integer("scene_number").notNull(),
    /** `character`, `thread_opened` or `thread_closed`. */
    kind: text("kind").notNull(),
    /** The character's name, or the thread. */
    entity: text("entity").notNull(),
    /** For a character, what the scene changed (see src/pipeline/ledger.ts `CharacterChange`). */
    data: text("data", { mode: "json" }),
  },
  (t) => [index("story_state_lookup").on(t.projectId, t.sceneNumber)],
);

/** Every text a scene has ever had, with the stage that produced it. Nothing is overwritten. */
export const sceneVersions = sqliteTable(
  "scene_versions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    sceneNumber: integer("scene_number").notNull(),
    stage: text("stage").notNull(),
    text: text("text").notNull(),
    words: integer("words").notNull(),
    note: text("note"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("scene_versions_lookup").on(t.projectId, t.sceneNumber, t.id)],
);

/** One row per HTTP attempt to the model, successful or not. */
export const llmCalls = sqliteTable(
  "llm_calls",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id").references(() => projects.id, { onDelete: "cascade" }),
    stage: text("stage").notNull(),
    sceneNumber: integer("scene_number"),
    purpose: text("purpose").notNull(),
    model: text("model").notNull(),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    cachedTokens: integer("cached_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    latencyMs: integer("latency_ms").notNull(),
    /** ok | http_<status> | network | timeout | aborted | invalid_json | schema_mismatch | truncated | empty | refusal | content_filter */
    outcome: text("outcome").notNull(),
    error: text("error"),
    /** Chatter cut from the answer before it was used ("Certainly! Here is the scene:"), a line each. */
    cleaned: text("cleaned"),
    costUsd: real("cost_usd").notNull().default(0),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("llm_calls_project").on(t.projectId, t.stage)],
);

export type Project = typeof projects.$inferSelect;
export type Scene = typeof scenes.$inferSelect;
export type SceneVersion = typeof sceneVersions.$inferSelect;

/**
 * What each revision stage did to each scene: one row per (project, stage step, scene), written in the
 * same transaction as the scene's new text, so a resumed stage skips the scenes it already handled.
 */
export const revisionResults = sqliteTable(
  "revision_results",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** A stage id, or a step of one (`passes.dialogue`, `validate.repair-1`). */
    step: text("step").notNull(),
    sceneNumber: integer("scene_number").notNull(),
    /** revised | rejected | unchanged */
    outcome: text("outcome").notNull(),
    /** For rejections: too_short | too_long | no_terminal_punctuation | meta_text. */
    reason: text("reason"),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("revision_results_pk").on(t.projectId, t.step, t.sceneNumber)],
);

export type RevisionResult = typeof revisionResults.$inferSelect;
