import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { StageId } from "../src/pipeline/workflow";
import { PROJECT_HOSTS, PROJECT_STATUSES } from "./schema";

/**
 * The same tables as `db/schema.ts`, for Postgres (`DATABASE_URL`, not yet wired to the store): the
 * same names, columns, keys and indexes, in Postgres's types. Times are milliseconds since the epoch,
 * as in SQLite, so they need `bigint`. `tests/schema-dialects.test.ts` keeps the two in step.
 */
const now = sql`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
const millis = (name: string) => bigint(name, { mode: "number" });

export const projects = pgTable(
  "projects",
  {
    id: serial("id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    host: text("host", { enum: PROJECT_HOSTS }).notNull().default("cli"),
    premise: text("premise").notNull(),
    title: text("title"),
    genre: text("genre"),
    voice: text("voice"),
    sceneCount: integer("scene_count").notNull(),
    targetWords: integer("target_words").notNull(),
    autoApprove: boolean("auto_approve").notNull().default(false),
    showChapters: boolean("show_chapters").notNull().default(true),
    status: text("status", { enum: PROJECT_STATUSES }).notNull().default("running"),
    stage: text("stage").$type<StageId>().notNull().default("concept"),
    attention: text("attention"),
    revisionNotes: text("revision_notes"),
    redraftScene: integer("redraft_scene"),
    exportPath: text("export_path"),
    statusVersion: integer("status_version").notNull().default(0),
    leaseOwner: text("lease_owner"),
    leaseExpiresAt: millis("lease_expires_at"),
    queueAhead: integer("queue_ahead"),
    createdAt: millis("created_at").notNull().default(now),
    updatedAt: millis("updated_at").notNull().default(now),
  },
  (t) => [
    index("projects_runnable").on(t.status, t.leaseExpiresAt),
    index("projects_owner").on(t.ownerId),
    index("projects_host").on(t.host),
  ],
);

export const discordThreads = pgTable(
  "discord_threads",
  {
    projectId: integer("project_id")
      .primaryKey()
      .references(() => projects.id, { onDelete: "cascade" }),
    guildId: text("guild_id").notNull(),
    channelId: text("channel_id").notNull(),
    threadId: text("thread_id").notNull(),
    /** The status card posted first in the thread, edited as the project moves on. */
    statusMessageId: text("status_message_id"),
    progressMessageId: text("progress_message_id"),
    progressStage: text("progress_stage"),
    noticeMessageId: text("notice_message_id"),
    noticeVersion: integer("notice_version"),
    deliveryNonce: text("delivery_nonce"),
    deliveryMessageId: text("delivery_message_id"),
  },
  (t) => [uniqueIndex("discord_threads_thread").on(t.threadId), index("discord_threads_guild").on(t.guildId)],
);

export const discordChapters = pgTable(
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
export const chapterNotes = pgTable(
  "chapter_notes",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    chapter: integer("chapter").notNull(),
    text: text("text").notNull(),
    /** Who wrote it (a Discord user id, or "cli"). */
    authorId: text("author_id").notNull(),
    updatedAt: millis("updated_at").notNull(),
  },
  (t) => [uniqueIndex("chapter_notes_pk").on(t.projectId, t.chapter)],
);

export const stageOutputs = pgTable(
  "stage_outputs",
  {
    id: serial("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    stage: text("stage").notNull(),
    data: jsonb("data").notNull(),
    createdAt: millis("created_at").notNull().default(now),
  },
  (t) => [index("stage_outputs_lookup").on(t.projectId, t.stage, t.id)],
);

export const chapters = pgTable(
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

export const scenes = pgTable(
  "scenes",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    chapter: integer("chapter").notNull(),
    title: text("title").notNull(),
    card: jsonb("card").notNull(),
    targetWords: integer("target_words").notNull(),
    text: text("text"),
    words: integer("words").notNull().default(0),
    summary: text("summary"),
    facts: jsonb("facts").$type<string[]>(),
    digestOf: text("digest_of"),
    beats: jsonb("beats").$type<{ what: string; words: number }[]>(),
    updatedAt: millis("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("scenes_pk").on(t.projectId, t.number)],
);

export const storyState = pgTable(
  "story_state",
  {
    id: serial("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    sceneNumber: integer("scene_number").notNull(),
    kind: text("kind").notNull(),
    entity: text("entity").notNull(),
    data: jsonb("data"),
  },
  (t) => [index("story_state_lookup").on(t.projectId, t.sceneNumber)],
);

export const sceneVersions = pgTable(
  "scene_versions",
  {
    id: serial("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    sceneNumber: integer("scene_number").notNull(),
    stage: text("stage").notNull(),
    text: text("text").notNull(),
    words: integer("words").notNull(),
    note: text("note"),
    createdAt: millis("created_at").notNull().default(now),
  },
  (t) => [index("scene_versions_lookup").on(t.projectId, t.sceneNumber, t.id)],
);

export const llmCalls = pgTable(
  "llm_calls",
  {
    id: serial("id").primaryKey(),
    projectId: integer("project_id").references(() => projects.id, { onDelete: "cascade" }),
    stage: text("stage").notNull(),
    sceneNumber: integer("scene_number"),
    purpose: text("purpose").notNull(),
    model: text("model").notNull(),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    cachedTokens: integer("cached_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    latencyMs: integer("latency_ms").notNull(),
    outcome: text("outcome").notNull(),
    error: text("error"),
    cleaned: text("cleaned"),
    costUsd: doublePrecision("cost_usd").notNull().default(0),
    createdAt: millis("created_at").notNull().default(now),
  },
  (t) => [index("llm_calls_project").on(t.projectId, t.stage)],
);

export const revisionResults = pgTable(
  "revision_results",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    step: text("step").notNull(),
    sceneNumber: integer("scene_number").notNull(),
    outcome: text("outcome").notNull(),
    reason: text("reason"),
    detail: jsonb("detail").$type<Record<string, unknown>>(),
    createdAt: millis("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("revision_results_pk").on(t.projectId, t.step, t.sceneNumber)],
);
