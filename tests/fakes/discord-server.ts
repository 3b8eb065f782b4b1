/**
 * Over 300 lines: a whole fake of Discord (REST routes, gateway, interactions, limits, multipart
 * parsing and recording) that discord.js talks to unmodified; its parts share one in-memory guild.
 *
 * A local fake of Discord: the REST API (v10) and the gateway, on one HTTP server bound to 127.0.0.1.
 *
 * Why it exists: tests must run offline, yet we want the real discord.js client (its REST queue, rate-limit
 * handling, gateway state machine and structures) in the loop rather than mocks of it. So this fake speaks
 * the wire protocol closely enough for an unmodified `new Client({ rest: { api: fake.apiUrl } })`, records
 * everything the bot does, and enforces the Discord limits the spec cares about (3 s acknowledgement,
 * duplicate acks, 2000-char content, embed and component limits, 10 MiB uploads, 429s on demand).
 * Every request is also checked against Discord's own OpenAPI specification (see
 * `tests/helpers/openapi.ts`): one that breaks it is refused with Discord's 400 "Invalid Form Body" and
 * recorded in `violations`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { z } from "zod";
import { describeViolation, requestViolations, type Violation, warmUp } from "../helpers/openapi";

// ---------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------

export type Json = Record<string, unknown>;

export interface FakeDiscordOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** How long the bot has to acknowledge an interaction. Discord's is 3000 ms. */
  ackTimeoutMs?: number;
  /** The server's upload limit in bytes: 10 MiB, as an unboosted server's (default). */
  uploadLimitBytes?: number;
  /**
   * The shards Discord requires (`GET /gateway/bot`'s `shards`, 1 by default): a client identifying
   * with fewer is closed with 4011 "Sharding required", as Discord closes a bot past 2,500 servers.
   */
  shards?: number;
}

export interface UploadedFile {
  /** Multipart field name, e.g. `files[0]`. */
  name: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface RestCallRecord {
  at: number;
  method: string;
  /** Decoded path relative to `/api/v10`, e.g. `/webhooks/1/tok/messages/@original`. */
  path: string;
  query: Record<string, string>;
  status: number;
  /** Parsed JSON body, or the parsed `payload_json` part of a multipart body. */
  body: unknown;
  files: UploadedFile[];
}

export interface ApiUser {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: null;
  bot?: boolean;
}

export interface StoredAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type: string;
  description?: string;
  /** The uploaded bytes, exactly as received. */
  data: Buffer;
}

export interface StoredMessage {
  id: string;
  channel_id: string;
  guild_id: string;
  type: number;
  author: ApiUser;
  content: string;
  embeds: Json[];
  components: Json[];
  attachments: StoredAttachment[];
  flags: number;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  pinned: boolean;
  /** Users, roles and @everyone that this message actually pings, after `allowed_mentions`. */
  mentions: ApiUser[];
  mention_roles: string[];
  mention_everyone: boolean;
  webhook_id?: string;
  application_id?: string;
  interaction_metadata?: Json;
  message_reference?: unknown;
  thread?: Json;
  /** As sent by the bot (undefined when the bot sent none, which means "ping everything parsed"). */
  allowed_mentions: unknown;
  editCount: number;
  /** The embeds the message had after each edit, oldest first (what readers saw over time). */
  embedHistory: Json[][];
  deleted: boolean;
  /** Ephemeral messages: the only user who can see them. */
  visibleTo?: string;
  interactionId?: string;
}

export interface ThreadMetadata {
  archived: boolean;
  auto_archive_duration: number;
  archive_timestamp: string;
  locked: boolean;
  invitable?: boolean;
  create_timestamp: string;
}

export interface StoredChannel {
  id: string;
  type: number;
  guild_id: string;
  name: string;
  parent_id: string | null;
  position?: number;
  topic?: string | null;
  nsfw: boolean;
  last_message_id: string | null;
  rate_limit_per_user: number;
  flags: number;
  owner_id?: string;
  thread_metadata?: ThreadMetadata;
  message_count?: number;
  member_count?: number;
  total_message_sent?: number;
  [key: string]: unknown;
}

export interface InteractionResponseRecord {
  kind: "callback" | "followup" | "edit-original" | "edit-followup";
  at: number;
  /** For callbacks: `{type, data}`; otherwise the message payload. */
  body: Json;
  files: UploadedFile[];
  flags: number;
  /** The callback type, for `kind: "callback"`. */
  callbackType?: number;
  messageId?: string;
}

export interface InteractionRecord {
  id: string;
  token: string;
  /** 2 command, 3 component, 4 autocomplete, 5 modal submit. */
  type: number;
  userId: string;
  channelId: string;
  commandName?: string;
  customId?: string;
  /** The message a component or modal submit belongs to. */
  messageId?: string;
  /** The exact INTERACTION_CREATE payload dispatched. */
  payload: Json;
  dispatchedAt: number;
  ackAt?: number;
  ackType?: number;
  ackLatencyMs?: number;
  expired: boolean;
  originalMessageId?: string;
  /** The modal shown in response (callback type 9). */
  modal?: Json;
  responses: InteractionResponseRecord[];
  /** Resolves on acknowledgement; rejects if the interaction expires first. */
  waitForAck(timeoutMs?: number): Promise<void>;
  waitForResponse(
    predicate?: (r: InteractionResponseRecord) => boolean,
    timeoutMs?: number,
  ): Promise<InteractionResponseRecord>;
}

export interface RateLimitRule {
  method?: string;
  /** Tested against the decoded path relative to `/api/v10`. */
  pathPattern: RegExp;
  count: number;
  retryAfterSec: number;
  global?: boolean;
}

export interface RejectedCall {
  path: string;
  status: number;
  code?: number;
  message: string;
}

/** A request the fake refused because it breaks Discord's OpenAPI specification. */
export interface SpecViolation {
  at: number;
  method: string;
  /** Decoded path relative to `/api/v10`, with its query string if it had one. */
  path: string;
  /** One readable sentence per problem, e.g. `POST /channels/{channel_id}/messages: body.content must be string or null`. */
  problems: string[];
}

export interface FakeDiscordStats {
  identifies: number;
  resumes: number;
  expiredInteractions: number;
  duplicateAcks: number;
  /** Every 4xx/5xx answer except injected 429s (those are counted in `rateLimited`). */
  rejected: RejectedCall[];
  rateLimited: number;
  /** 429s with `global: true`: more than 50 requests from the bot within one second. */
  globalLimited: number;
  /** The shard (`[id, count]`) of each live gateway session. */
  shards: [number, number][];
}

type OptionValue = string | number | boolean;

export interface CommandInput {
  user: string;
  channelId?: string;
  command: string;
  /** `"start"`, or `"group sub"` for a subcommand inside a group. */
  subcommand?: string;
  options?: Record<string, OptionValue>;
}

export interface AutocompleteInput extends CommandInput {
  focused: string;
}

export interface ButtonInput {
  user: string;
  channelId: string;
  messageId: string;
  customId: string;
}

export interface ModalInput {
  user: string;
  channelId: string;
  customId: string;
  fields: Record<string, string>;
  messageId?: string;
}

export interface MemberInput {
  id?: string;
  username: string;
  /** Permission bitfield (decimal string or bigint); defaults to an ordinary member's. */
  permissions?: string | bigint;
}

export interface MemberRef {
  id: string;
  username: string;
}

export interface FakeDiscord {
  readonly apiUrl: string;
  readonly token: string;
  readonly applicationId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly botUserId: string;
  readonly ownerId: string;
  readonly calls: RestCallRecord[];
  readonly interactions: InteractionRecord[];
  /** Requests refused for breaking Discord's OpenAPI specification; empty when everything conformed. */
  readonly violations: SpecViolation[];
  addMember(u: MemberInput): MemberRef;
  /** A text channel in the first server, or in `guildId`'s. */
  addChannel(name: string, guildId?: string): StoredChannel;
  /** Another server with the bot and every member in it, and its own #general. */
  addGuild(name: string): { guildId: string; channelId: string };
  sendCommand(p: CommandInput): Promise<InteractionRecord>;
  sendAutocomplete(p: AutocompleteInput): Promise<InteractionRecord>;
  clickButton(p: ButtonInput): Promise<InteractionRecord>;
  submitModal(p: ModalInput): Promise<InteractionRecord>;
  messages(channelId: string): StoredMessage[];
  threads(): StoredChannel[];
  commands(scope?: string): Json[];
  waitFor<T>(
    predicate: () => T | undefined | false | null | Promise<T | undefined | false | null>,
    timeoutMs?: number,
  ): Promise<T>;
  inject429(rule: RateLimitRule): void;
  /**
   * The next `times` messages with a file whose name matches are stored, then answered with a 500, as
   * Discord does when a backend times out after the write: a client that retries without an enforced
   * nonce posts twice.
   */
  failUploadsAfterStoring(times: number, filename?: RegExp): void;
  /**
   * The next `times` messages whose first embed's title matches are answered with a 500 and not stored,
   * as while Discord's backend is down: a client's own quick retries meet it too.
   */
  failPosts(times: number, title: RegExp): void;
  disconnectGateway(opts?: { resumable?: boolean }): void;
  stats(): FakeDiscordStats;
  close(): Promise<void>;
}

/** The shard that receives a server's events: `(guild_id >> 22) % num_shards`, as Discord routes them. */
export function shardOf(guildId: string, shards: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shards));
}

export async function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  // Once per process, before the first interaction's 3 s start: the operations bots use most.
  warmUp("discord", [
    ["POST", "/channels/0/messages"],
    ["PATCH", "/channels/0/messages/0"],
    ["POST", "/interactions/0/token/callback"],
    ["POST", "/webhooks/0/token"],
    ["PATCH", "/webhooks/0/token/messages/@original"],
    ["PATCH", "/webhooks/0/token/messages/0"],
    ["PUT", "/applications/0/guilds/0/commands"],
  ]);
  const fake = new FakeDiscordServer(
    opts.ackTimeoutMs ?? 3000,
    opts.uploadLimitBytes ?? UPLOAD_LIMIT_BYTES,
    opts.shards ?? 1,
  );
  await fake.listen(opts.port ?? 0);
  return fake;
}

// ---------------------------------------------------------------------------------------------------------
// Constants and small helpers
// ---------------------------------------------------------------------------------------------------------

const API_PREFIX = "/api/v10";
const HEARTBEAT_INTERVAL_MS = 41_250;
const UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/** Discord's global limit for a bot: requests per second across routes. */
const GLOBAL_PER_SECOND = 50;
/** How long Discord remembers an enforced nonce ("a few minutes"). */
const NONCE_WINDOW_MS = 5 * 60_000;
const HISTORY_LIMIT = 1000;
const DEFAULT_WAIT_MS = 5000;

const Flags = {
  SuppressEmbeds: 1 << 2,
  HasThread: 1 << 5,
  Ephemeral: 1 << 6,
  Loading: 1 << 7,
  SuppressNotifications: 1 << 12,
  ComponentsV2: 1 << 15,
} as const;
/** The only flags a bot may set when sending, and (minus ephemeral) when editing. */
const SENDABLE_FLAGS =
  Flags.SuppressEmbeds | Flags.Ephemeral | Flags.SuppressNotifications | Flags.ComponentsV2;
const EDITABLE_FLAGS = Flags.SuppressEmbeds | Flags.ComponentsV2;
const Intents = { Guilds: 1 << 0 } as const;
const InteractionType = { Command: 2, Component: 3, Autocomplete: 4, ModalSubmit: 5 } as const;
const Callback = {
  Message: 4,
  DeferredMessage: 5,
  DeferredUpdate: 6,
  UpdateMessage: 7,
  Autocomplete: 8,
  Modal: 9,
} as const;
const ChannelType = { Text: 0, Announcement: 5, AnnouncementThread: 10, PublicThread: 11, PrivateThread: 12 };

const bit = (n: bigint) => 1n << n;
const Perm = {
  AddReactions: bit(6n),
  ViewChannel: bit(10n),
  SendMessages: bit(11n),
  ManageMessages: bit(13n),
  EmbedLinks: bit(14n),
  AttachFiles: bit(15n),
  ReadMessageHistory: bit(16n),
  UseExternalEmojis: bit(18n),
  UseApplicationCommands: bit(31n),
  ManageThreads: bit(34n),
  CreatePublicThreads: bit(35n),
  CreatePrivateThreads: bit(36n),
  SendMessagesInThreads: bit(38n),
};
const MEMBER_PERMISSIONS = (
  Perm.AddReactions |
  Perm.ViewChannel |
  Perm.SendMessages |
  Perm.EmbedLinks |
  Perm.AttachFiles |
  Perm.ReadMessageHistory |
  Perm.UseExternalEmojis |
  Perm.UseApplicationCommands |
  Perm.CreatePublicThreads |
  Perm.SendMessagesInThreads
).toString();
const BOT_PERMISSIONS = (
  BigInt(MEMBER_PERMISSIONS) |
  Perm.ManageMessages |
  Perm.ManageThreads |
  Perm.CreatePrivateThreads
).toString();
const ALL_PERMISSIONS = (bit(51n) - 1n).toString();

const DISCORD_EPOCH = 1_420_070_400_000n;
let lastSnowflakeMs = 0n;
let snowflakeIncrement = 0n;

/** A real-looking, strictly increasing snowflake (timestamp << 22 | worker | process | increment). */
export function snowflake(): string {
  let ms = BigInt(Date.now()) - DISCORD_EPOCH;
  if (ms <= lastSnowflakeMs) {
    snowflakeIncrement += 1n;
    // Borrow the next millisecond when 4096 ids were minted in one, so ids stay unique and ordered.
    if (snowflakeIncrement > 4095n) {
      lastSnowflakeMs += 1n;
      snowflakeIncrement = 0n;
    }
    ms = lastSnowflakeMs;
  } else {
    lastSnowflakeMs = ms;
    snowflakeIncrement = 0n;
  }
  return ((ms << 22n) | (1n << 17n) | (1n << 12n) | snowflakeIncrement).toString();
}

const randomToken = (bytes: number) => randomBytes(bytes).toString("base64url");
const isoNow = () => new Date().toISOString();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asObjects = (v: unknown): Json[] => asArray(v).filter(isObject);

function userObject(id: string, username: string, bot = false): ApiUser {
  return {
    id,
    username,
    discriminator: "0",
    global_name: bot ? null : username,
    avatar: null,
    ...(bot && { bot }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Errors in Discord's shape
// ---------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: Json,
  ) {
    super(message);
  }
}

const Errors = {
  notFound: () => new ApiError(404, 0, "404: Not Found"),
  unauthorized: () => new ApiError(401, 0, "401: Unauthorized"),
  unknownChannel: () => new ApiError(404, 10003, "Unknown Channel"),
  unknownGuild: () => new ApiError(404, 10004, "Unknown Guild"),
  unknownMember: () => new ApiError(404, 10007, "Unknown Member"),
  unknownMessage: () => new ApiError(404, 10008, "Unknown Message"),
  unknownUser: () => new ApiError(404, 10013, "Unknown User"),
  unknownWebhook: () => new ApiError(404, 10015, "Unknown Webhook"),
  unknownInteraction: () => new ApiError(404, 10062, "Unknown interaction"),
  unknownCommand: () => new ApiError(404, 10063, "Unknown application command"),
  alreadyAcknowledged: () => new ApiError(400, 40060, "Interaction has already been acknowledged."),
  tooLarge: () => new ApiError(413, 40005, "Request entity too large"),
  emptyMessage: () => new ApiError(400, 50006, "Cannot send an empty message"),
  wrongChannelType: () => new ApiError(400, 50024, "Cannot execute action on this channel type"),
  invalidJson: () => new ApiError(400, 50109, "The request body contains invalid JSON."),
  threadExists: () => new ApiError(400, 160004, "A thread has already been created for this message"),
  formError: (errors: Json) => new ApiError(400, 50035, "Invalid Form Body", errors),
  /** A single-field form error, for checks that are not expressed as a schema. */
  fieldError: (field: string, code: string, message: string) =>
    Errors.formError({ [field]: { _errors: [{ code, message }] } }),
};

/** Turns zod issues into Discord's nested `{field: {0: {sub: {_errors: [...]}}}}` error tree. */
function discordErrorTree(issues: readonly z.core.$ZodIssue[]): Json {
  const root: Json = {};
  for (const issue of issues) {
    let node = root;
    for (const key of issue.path) {
      const k = String(key);
      if (!isObject(node[k])) node[k] = {};
      node = node[k] as Json;
    }
    const list = Array.isArray(node._errors) ? node._errors : [];
    list.push(describeIssue(issue));
    node._errors = list;
  }
  return root;
}

/** Spec violations as Discord's nested error tree, with the codes Discord uses for each kind of problem. */
function specErrorTree(violations: Violation[]): Json {
  const root: Json = {};
  for (const v of violations) {
    let node = root;
    for (const key of v.at) {
      const k = String(key);
      if (!isObject(node[k])) node[k] = {};
      node = node[k] as Json;
    }
    const list = Array.isArray(node._errors) ? node._errors : [];
    list.push(describeViolationForDiscord(v));
    node._errors = list;
  }
  return root;
}

function describeViolationForDiscord(v: Violation): { code: string; message: string } {
  const limit = v.params.limit;
  switch (v.keyword) {
    case "required":
      return { code: "BASE_TYPE_REQUIRED", message: "This field is required" };
    case "maxLength":
    case "maxItems":
      return { code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${limit} or fewer in length.` };
    case "minLength":
    case "minItems":
      return { code: "BASE_TYPE_MIN_LENGTH", message: `Must be ${limit} or more in length.` };
    case "maximum":
    case "exclusiveMaximum":
      return { code: "NUMBER_TYPE_MAX", message: `int value should be less than or equal to ${limit}.` };
    case "minimum":
    case "exclusiveMinimum":
      return { code: "NUMBER_TYPE_MIN", message: `int value should be greater than or equal to ${limit}.` };
    case "enum":
    case "const":
      return { code: "BASE_TYPE_CHOICES", message: `Value ${v.message}.` };
    case "type": {
      const types = Array.isArray(v.params.type) ? v.params.type : String(v.params.type).split(",");
      if (types.includes("object"))
        return { code: "MODEL_TYPE_CONVERT", message: "Only dictionaries may be used in a ModelType" };
      if (types.includes("array"))
        return { code: "LIST_TYPE_CONVERT", message: "Only iterables may be used in a ListType" };
      if (types.includes("integer") || types.includes("number"))
        return { code: "NUMBER_TYPE_COERCE", message: `Value ${v.message}.` };
      return { code: "BASE_TYPE_BAD_TYPE", message: `Value ${v.message}.` };
    }
    case "format":
      return v.params.format === "uri"
        ? { code: "URL_TYPE_INVALID_URL", message: "Not a well formed URL." }
        : { code: "BASE_TYPE_INVALID", message: `Value ${v.message}.` };
    default:
      return { code: "BASE_TYPE_INVALID", message: describeViolation(v) };
  }
}

function describeIssue(issue: z.core.$ZodIssue): { code: string; message: string } {
  switch (issue.code) {
    case "too_big":
      return issue.origin === "number" || issue.origin === "int"
        ? { code: "NUMBER_TYPE_MAX", message: `int value should be less than or equal to ${issue.maximum}.` }
        : { code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${issue.maximum} or fewer in length.` };
    case "too_small":
      return issue.origin === "number" || issue.origin === "int"
        ? {
            code: "NUMBER_TYPE_MIN",
            message: `int value should be greater than or equal to ${issue.minimum}.`,
          }
        : { code: "BASE_TYPE_MIN_LENGTH", message: `Must be ${issue.minimum} or more in length.` };
    case "invalid_type":
      return { code: "BASE_TYPE_BAD_TYPE", message: issue.message };
    case "custom": {
      const code =
        typeof issue.params?.discordCode === "string" ? issue.params.discordCode : "BASE_TYPE_INVALID";
      return { code, message: issue.message };
    }
    default:
      return { code: "BASE_TYPE_INVALID", message: issue.message };
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw Errors.formError(discordErrorTree(result.error.issues));
  return result.data;
}

// ---------------------------------------------------------------------------------------------------------
// Payload schemas: they only check Discord's limits; stored payloads keep every field the bot sent.
// ---------------------------------------------------------------------------------------------------------

const customIdSchema = z.string().min(1).max(100);

// Components nest (rows, labels, containers, sections), so one recursive schema covers them all.
const componentSchema: z.ZodType = z.lazy(() =>
  z.looseObject({
    type: z.number().int(),
    custom_id: customIdSchema.optional(),
    max_length: z.number().int().min(1).max(4000).optional(),
    min_length: z.number().int().min(0).max(4000).optional(),
    value: z.string().max(4000).optional(),
    placeholder: z.string().max(150).optional(),
    components: z.array(componentSchema).optional(),
    component: componentSchema.optional(),
    accessory: componentSchema.optional(),
  }),
);

const embedSchema = z.looseObject({
  title: z.string().max(256).nullish(),
  description: z.string().max(4096).nullish(),
  fields: z
    .array(z.looseObject({ name: z.string().max(256), value: z.string().max(1024) }))
    .max(25)
    .nullish(),
  footer: z.looseObject({ text: z.string().max(2048) }).nullish(),
  author: z.looseObject({ name: z.string().max(256) }).nullish(),
});
type EmbedInput = z.output<typeof embedSchema>;

const EMBED_TOTAL_LIMIT = 6000;

function embedChars(e: EmbedInput): number {
  const fields = (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0);
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.footer?.text.length ?? 0) +
    (e.author?.name.length ?? 0) +
    fields
  );
}

const allowedMentionsSchema = z.looseObject({
  parse: z.array(z.enum(["users", "roles", "everyone"])).optional(),
  users: z.array(z.string()).max(100).optional(),
  roles: z.array(z.string()).max(100).optional(),
  replied_user: z.boolean().optional(),
});
type AllowedMentions = z.output<typeof allowedMentionsSchema>;

const messageSchema = z
  .looseObject({
    content: z.string().max(2000).nullish(),
    embeds: z.array(embedSchema).max(10).nullish(),
    components: z.array(componentSchema).nullish(),
    flags: z.number().int().nullish(),
    allowed_mentions: allowedMentionsSchema.nullish(),
    attachments: z.array(z.looseObject({ id: z.union([z.string(), z.number()]) })).nullish(),
    message_reference: z.unknown().optional(),
    tts: z.boolean().nullish(),
    nonce: z.union([z.string().max(25), z.number().int()]).nullish(),
    enforce_nonce: z.boolean().nullish(),
  })
  .superRefine((msg, ctx) => {
    const total = (msg.embeds ?? []).reduce((n, e) => n + embedChars(e), 0);
    if (total > EMBED_TOTAL_LIMIT) {
      ctx.addIssue({
        code: "custom",
        path: ["embeds"],
        message: `Embed size exceeds maximum size of ${EMBED_TOTAL_LIMIT}`,
        params: { discordCode: "MAX_EMBED_SIZE_EXCEEDED" },
      });
    }
  });
type MessageInput = z.output<typeof messageSchema>;

const modalSchema = z.looseObject({
  custom_id: customIdSchema,
  title: z.string().min(1).max(45),
  components: z.array(componentSchema).min(1).max(5),
});

const autocompleteSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({ name: z.string().min(1).max(100), value: z.union([z.string().max(100), z.number()]) }),
    )
    .max(25),
});

const callbackSchema = z.looseObject({ type: z.number().int(), data: z.unknown().optional() });

const threadSchema = z.looseObject({
  name: z.string().min(1).max(100),
  auto_archive_duration: z.number().int().optional(),
  type: z.number().int().optional(),
  invitable: z.boolean().optional(),
  rate_limit_per_user: z.number().int().optional(),
});

const channelPatchSchema = z.looseObject({
  name: z.string().min(1).max(100).optional(),
  topic: z.string().max(1024).nullish(),
  archived: z.boolean().optional(),
  locked: z.boolean().optional(),
  auto_archive_duration: z.number().int().optional(),
  invitable: z.boolean().optional(),
  rate_limit_per_user: z.number().int().optional(),
});

const PATCHABLE_CHANNEL_FIELDS = [
  "name",
  "topic",
  "nsfw",
  "position",
  "rate_limit_per_user",
  "flags",
  "applied_tags",
];

const optionSchema: z.ZodType = z.lazy(() =>
  z.looseObject({
    type: z.number().int().min(1).max(11),
    name: z.string().min(1).max(32),
    description: z.string().min(1).max(100),
    options: z.array(optionSchema).max(25).optional(),
    choices: z
      .array(z.looseObject({ name: z.string().min(1).max(100) }))
      .max(25)
      .optional(),
  }),
);

const commandSchema = z
  .looseObject({
    name: z.string().min(1).max(32),
    type: z.number().int().optional(),
    description: z.string().max(100).optional(),
    options: z.array(optionSchema).max(25).optional(),
  })
  .superRefine((cmd, ctx) => {
    // Slash command names must be lowercase words; context-menu names may contain spaces and capitals.
    if ((cmd.type ?? 1) === 1 && !/^[-_\p{Ll}\p{Lo}\p{N}]{1,32}$/u.test(cmd.name)) {
      ctx.addIssue({ code: "custom", path: ["name"], message: "Command name is invalid" });
    }
  });

// ---------------------------------------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------------------------------------

interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  files: UploadedFile[];
  headers: IncomingMessage["headers"];
}

interface ApiReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type RouteHandler = (req: ApiRequest) => ApiReply | Promise<ApiReply>;

interface Route {
  method: string;
  template: string;
  segments: string[];
  handler: RouteHandler;
}

const ok = (body: unknown): ApiReply => ({ status: 200, body });
const created = (body: unknown): ApiReply => ({ status: 201, body });
const noContent = (): ApiReply => ({ status: 204 });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parseBody(
  raw: Buffer,
  contentType: string | undefined,
): Promise<{ body: unknown; files: UploadedFile[] }> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType?.startsWith("multipart/form-data")) return parseMultipart(raw, contentType);
  return { body: parseJson(raw.toString("utf8")), files: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw Errors.invalidJson();
  }
}

// The global Request does the multipart parsing, so boundaries and encodings are handled by undici.
async function parseMultipart(
  raw: Buffer,
  contentType: string,
): Promise<{ body: unknown; files: UploadedFile[] }> {
  const request = new Request("http://fake.local/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: new Uint8Array(raw),
  });
  const form = await request.formData();
  let body: unknown;
  const files: UploadedFile[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") {
      if (name === "payload_json") body = parseJson(value);
      continue;
    }
    const data = Buffer.from(await value.arrayBuffer());
    files.push({ name, filename: value.name, contentType: value.type || "application/octet-stream", data });
  }
  return { body, files };
}

/** Plausible per-route bucket headers so @discordjs/rest keeps its normal queueing behaviour. */
function rateLimitHeaders(
  method: string,
  template: string,
  remaining = 49,
  resetAfterSec = 1,
): Record<string, string> {
  const bucket = createHash("sha1").update(`${method} ${template}`).digest("hex").slice(0, 16);
  return {
    "x-ratelimit-limit": "50",
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-reset": (Date.now() / 1000 + resetAfterSec).toFixed(3),
    "x-ratelimit-reset-after": resetAfterSec.toFixed(3),
    "x-ratelimit-bucket": bucket,
  };
}

function writeReply(res: ServerResponse, reply: ApiReply): void {
  // A 204 with a JSON content type makes @discordjs/rest try to parse an empty body and throw.
  if (reply.status === 204) {
    res.writeHead(204, reply.headers);
    res.end();
    return;
  }
  const payload = JSON.stringify(reply.body ?? {});
  res.writeHead(reply.status, {
    ...reply.headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

function errorReply(error: ApiError): ApiReply {
  const body: Json = { message: error.message, code: error.code };
  if (error.errors) body.errors = error.errors;
  return { status: error.status, body };
}

function uploadedBytes(files: UploadedFile[]): number {
  return files.reduce((n, f) => n + f.data.length, 0);
}

/** Indexes `files[n]` parts so they can be matched with `attachments[{id: n}]` in the payload. */
function fileIndex(file: UploadedFile, position: number): string {
  return /^files\[(\d+)\]$/.exec(file.name)?.[1] ?? String(position);
}

// ---------------------------------------------------------------------------------------------------------
// Component helpers
// ---------------------------------------------------------------------------------------------------------

function childComponents(node: Json): unknown[] {
  return [...asArray(node.components), node.component, node.accessory].filter((c) => c !== undefined);
}

function findComponent(nodes: unknown[], customId: string): Json | undefined {
  for (const node of nodes.filter(isObject)) {
    if (node.custom_id === customId) return node;
    const inner = findComponent(childComponents(node), customId);
    if (inner) return inner;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Gateway types
// ---------------------------------------------------------------------------------------------------------

interface DispatchFrame {
  op: 0;
  s: number;
  t: string;
  d: unknown;
}

interface GatewayConnection {
  ws: WebSocket;
  session?: Session;
  closedByServer: boolean;
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  /** `[shard_id, num_shards]` from IDENTIFY: the servers whose events this session gets. */
  shard: [number, number];
  history: DispatchFrame[];
  conn?: GatewayConnection;
}

interface Member {
  user: ApiUser;
  permissions: string;
  roles: string[];
  joined_at: string;
}

/** What the driver asks to dispatch; the fake adds ids, token, member, channel and timing. */
interface InteractionSpec {
  type: number;
  userId: string;
  channelId: string;
  data: Json;
  commandName?: string;
  customId?: string;
  message?: StoredMessage;
}

interface CommandOptionDef {
  type: number;
  name: string;
  required?: boolean;
  options?: CommandOptionDef[];
}

// ---------------------------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------------------------

class FakeDiscordServer implements FakeDiscord {
  readonly token: string;
  readonly applicationId = snowflake();
  readonly botUserId = this.applicationId; // Discord bots share their application's id.
  readonly guildId = snowflake();
  /** Every server the bot is in, the first one first, with its name. */
  private readonly guilds = new Map<string, string>([[this.guildId, "Folio Test Server"]]);
  readonly ownerId = snowflake();
  readonly channelId: string;
  readonly calls: RestCallRecord[] = [];
  readonly interactions: InteractionRecord[] = [];
  readonly violations: SpecViolation[] = [];

  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly routes: Route[] = [];
  private port = 0;
  private closed = false;

  private readonly botUser = userObject(this.botUserId, "Folio", true);
  private readonly botRoleId = snowflake();
  private readonly createdAt = isoNow();
  private readonly members = new Map<string, Member>();
  private readonly channels = new Map<string, StoredChannel>();
  private readonly channelMessages = new Map<string, StoredMessage[]>();
  private readonly messageIndex = new Map<string, StoredMessage>();
  private readonly attachmentIndex = new Map<string, StoredAttachment>();
  private readonly commandScopes = new Map<string, Json[]>();
  private readonly interactionsByToken = new Map<string, InteractionRecord>();
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<GatewayConnection>();
  private readonly rateLimitRules: RateLimitRule[] = [];
  /** Enforced nonces by channel, with the message each one made. */
  private readonly nonces = new Map<string, { message: StoredMessage; at: number }>();
  private failingUploads: { times: number; filename: RegExp } | undefined;
  private failingPosts: { times: number; title: RegExp } | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly counters = {
    identifies: 0,
    resumes: 0,
    duplicateAcks: 0,
    rateLimited: 0,
    globalLimited: 0,
  };
  /** The bot's current one-second window for the global limit, and the requests counted in it. */
  private globalWindow = { start: 0, count: 0 };
  private readonly rejected: RejectedCall[] = [];

  constructor(
    private readonly ackTimeoutMs: number,
    private readonly uploadLimitBytes: number,
    private readonly requiredShards: number,
  ) {
    this.token = `${Buffer.from(this.applicationId).toString("base64url")}.${randomToken(4)}.${randomToken(28)}`;
    this.http = createServer((req, res) => {
      this.onHttpRequest(req, res).catch(() => res.destroy()); // The client went away mid-request.
    });
    this.http.on("upgrade", (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onGatewaySocket(ws));
    });
    this.addMemberRecord(this.ownerId, "owner", ALL_PERMISSIONS, []);
    this.members.set(this.botUserId, {
      user: this.botUser,
      permissions: BOT_PERMISSIONS,
      roles: [this.botRoleId],
      joined_at: this.createdAt,
    });
    this.channelId = this.addChannel("general").id;
    this.registerRoutes();
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  private get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(port, "127.0.0.1", () => {
        this.port = (this.http.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const conn of this.connections) conn.ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ------------------------------------------------------------------ driver API: state

  addMember(u: MemberInput): MemberRef {
    const id = u.id ?? snowflake();
    this.addMemberRecord(id, u.username, String(u.permissions ?? MEMBER_PERMISSIONS), []);
    return { id, username: u.username };
  }

  addGuild(name: string): { guildId: string; channelId: string } {
    const guildId = snowflake();
    this.guilds.set(guildId, name);
    const channelId = this.addChannel("general", guildId).id;
    // Joining a server is announced to the session whose shard holds it.
    this.dispatch("GUILD_CREATE", this.gatewayGuild(guildId));
    return { guildId, channelId };
  }

  addChannel(name: string, guildId = this.guildId): StoredChannel {
    if (!this.guilds.has(guildId)) throw new Error(`fake discord: no server ${guildId}`);
    const channel: StoredChannel = {
      id: snowflake(),
      type: ChannelType.Text,
      guild_id: guildId,
      name,
      parent_id: null,
      position: this.channels.size,
      topic: null,
      nsfw: false,
      last_message_id: null,
      rate_limit_per_user: 0,
      flags: 0,
      permission_overwrites: [],
      default_auto_archive_duration: 1440,
    };
    this.channels.set(channel.id, channel);
    this.dispatch("CHANNEL_CREATE", channel, Intents.Guilds);
    return channel;
  }

  messages(channelId: string): StoredMessage[] {
    return (this.channelMessages.get(channelId) ?? []).filter((m) => !m.deleted);
  }

  threads(): StoredChannel[] {
    return [...this.channels.values()].filter((c) => c.thread_metadata !== undefined);
  }

  commands(scope = "global"): Json[] {
    return this.commandScopes.get(scope) ?? [];
  }

  inject429(rule: RateLimitRule): void {
    this.rateLimitRules.push({ ...rule });
  }

  failUploadsAfterStoring(times: number, filename = /./): void {
    this.failingUploads = { times, filename };
  }

  failPosts(times: number, title: RegExp): void {
    this.failingPosts = { times, title };
  }

  stats(): FakeDiscordStats {
    return {
      identifies: this.counters.identifies,
      resumes: this.counters.resumes,
      duplicateAcks: this.counters.duplicateAcks,
      rateLimited: this.counters.rateLimited,
      globalLimited: this.counters.globalLimited,
      expiredInteractions: this.interactions.filter((i) => i.expired).length,
      rejected: [...this.rejected],
      shards: [...this.sessions.values()].filter((s) => s.conn).map((s) => s.shard),
    };
  }

  async waitFor<T>(
    predicate: () => T | undefined | false | null | Promise<T | undefined | false | null>,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await predicate();
      if (value !== undefined && value !== null && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`fake discord: waitFor timed out after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  private addMemberRecord(id: string, username: string, permissions: string, roles: string[]): void {
    this.members.set(id, { user: userObject(id, username), permissions, roles, joined_at: isoNow() });
  }

  // ------------------------------------------------------------------ driver API: interactions

  async sendCommand(p: CommandInput): Promise<InteractionRecord> {
    const channelId = p.channelId ?? this.channelId;
    const data = this.commandData(p);
    return this.dispatchInteraction({
      type: InteractionType.Command,
      userId: p.user,
      channelId,
      data,
      commandName: p.command,
    });
  }

  async sendAutocomplete(p: AutocompleteInput): Promise<InteractionRecord> {
    const channelId = p.channelId ?? this.channelId;
    const data = this.commandData(p, p.focused);
    return this.dispatchInteraction({
      type: InteractionType.Autocomplete,
      userId: p.user,
      channelId,
      data,
      commandName: p.command,
    });
  }

  async clickButton(p: ButtonInput): Promise<InteractionRecord> {
    const message = this.visibleMessage(p.channelId, p.messageId, p.user);
    const component = findComponent(message.components, p.customId);
    if (!component) throw new Error(`fake discord: message ${p.messageId} has no component "${p.customId}"`);
    const data = {
      custom_id: p.customId,
      component_type: component.type,
      ...(component.type !== 2 && { values: [] }),
    };
    return this.dispatchInteraction({
      type: InteractionType.Component,
      userId: p.user,
      channelId: p.channelId,
      data,
      customId: p.customId,
      message,
    });
  }

  async submitModal(p: ModalInput): Promise<InteractionRecord> {
    const shown = [...this.interactions]
      .reverse()
      .find((i) => i.userId === p.user && i.modal?.custom_id === p.customId);
    const data = { custom_id: p.customId, components: this.modalSubmission(shown?.modal, p.fields) };
    const message = p.messageId ? this.visibleMessage(p.channelId, p.messageId, p.user) : undefined;
    return this.dispatchInteraction({
      type: InteractionType.ModalSubmit,
      userId: p.user,
      channelId: p.channelId,
      data,
      customId: p.customId,
      message,
    });
  }

  private visibleMessage(channelId: string, messageId: string, userId: string): StoredMessage {
    const message = this.messageIndex.get(messageId);
    if (!message || message.deleted || message.channel_id !== channelId) {
      throw new Error(`fake discord: no message ${messageId} in channel ${channelId}`);
    }
    if (message.visibleTo && message.visibleTo !== userId) {
      throw new Error(`fake discord: message ${messageId} is ephemeral and not visible to ${userId}`);
    }
    return message;
  }

  private dispatchInteraction(spec: InteractionSpec): InteractionRecord {
    const member = this.members.get(spec.userId);
    if (!member) throw new Error(`fake discord: unknown member ${spec.userId}; call addMember first`);
    const channel = this.channels.get(spec.channelId);
    if (!channel) throw new Error(`fake discord: unknown channel ${spec.channelId}`);
    const session = this.interactionSession(channel.guild_id);
    const id = snowflake();
    const token = `aW50ZXJhY3Rpb246${id}${randomToken(48)}`;
    const payload = this.interactionPayload(id, token, spec, member, channel);
    const record = this.newInteractionRecord(id, token, payload, spec);
    this.interactions.push(record);
    this.interactionsByToken.set(token, record);
    this.sendDispatch(session, "INTERACTION_CREATE", payload);
    this.armAckDeadline(record);
    return record;
  }

  private newInteractionRecord(
    id: string,
    token: string,
    payload: Json,
    spec: InteractionSpec,
  ): InteractionRecord {
    const { message, data: _data, ...fields } = spec;
    const record: InteractionRecord = {
      ...fields,
      id,
      token,
      payload,
      messageId: message?.id,
      dispatchedAt: Date.now(),
      expired: false,
      responses: [],
      waitForAck: async (timeoutMs = this.ackTimeoutMs + 2000) => {
        await this.waitFor(() => record.ackAt !== undefined || record.expired, timeoutMs);
        if (record.ackAt === undefined)
          throw new Error(`fake discord: interaction ${id} expired unacknowledged`);
      },
      waitForResponse: (predicate = () => true, timeoutMs = DEFAULT_WAIT_MS) =>
        this.waitFor(() => record.responses.find(predicate), timeoutMs),
    };
    return record;
  }

  /** Marks the interaction expired at the deadline even if the bot never answers, as Discord would. */
  private armAckDeadline(record: InteractionRecord): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (record.ackAt === undefined) record.expired = true;
    }, this.ackTimeoutMs);
    timer.unref();
    this.timers.add(timer);
  }

  private interactionPayload(
    id: string,
    token: string,
    spec: InteractionSpec,
    member: Member,
    channel: StoredChannel,
  ): Json {
    return {
      id,
      token,
      type: spec.type,
      version: 1,
      application_id: this.applicationId,
      guild_id: channel.guild_id,
      guild: { id: channel.guild_id, locale: "en-US", features: [] },
      channel_id: channel.id,
      channel: { ...channel, permissions: member.permissions },
      member: this.memberPayload(member),
      app_permissions: BOT_PERMISSIONS,
      locale: "en-US",
      guild_locale: "en-US",
      entitlements: [],
      authorizing_integration_owners: { "0": channel.guild_id },
      context: 0,
      attachment_size_limit: this.uploadLimitBytes,
      data: spec.data,
      ...(spec.message && { message: this.apiMessage(spec.message) }),
    };
  }

  private memberPayload(member: Member): Json {
    return {
      user: member.user,
      roles: member.roles,
      permissions: member.permissions,
      joined_at: member.joined_at,
      nick: null,
      avatar: null,
      banner: null,
      premium_since: null,
      communication_disabled_until: null,
      deaf: false,
      mute: false,
      pending: false,
      flags: 0,
    };
  }

  // ------------------------------------------------------------------ command payloads

  private commandData(p: CommandInput, focused?: string): Json {
    const guildId = this.channels.get(p.channelId ?? this.channelId)?.guild_id ?? this.guildId;
    const def = this.findCommand(p.command, guildId);
    const path = p.subcommand ? p.subcommand.split(" ") : [];
    let defs = def ? asObjects(def.options).map((o) => o as unknown as CommandOptionDef) : undefined;
    const levels: CommandOptionDef[] = [];
    for (const [depth, name] of path.entries()) {
      const wanted = depth === path.length - 1 ? 1 : 2;
      const level = defs?.find((o) => o.name === name && o.type === wanted);
      if (defs && !level) throw new Error(`fake discord: /${p.command} has no subcommand "${p.subcommand}"`);
      levels.push(level ?? { type: wanted, name });
      defs = level ? (level.options ?? []) : undefined;
    }
    const resolved: Record<string, Json> = {};
    let options = this.commandOptions(defs, p.options ?? {}, focused, resolved);
    for (const level of levels.reverse()) options = [{ name: level.name, type: level.type, options }];
    return {
      id: def?.id ?? snowflake(),
      name: p.command,
      type: 1,
      ...(def?.guild_id !== undefined && { guild_id: def.guild_id }),
      options,
      ...(Object.keys(resolved).length > 0 && { resolved }),
    };
  }

  private findCommand(name: string, guildId: string): Json | undefined {
    const byName = (c: Json) => c.name === name && (c.type ?? 1) === 1;
    return this.commands(guildId).find(byName) ?? this.commands("global").find(byName);
  }

  private commandOptions(
    defs: CommandOptionDef[] | undefined,
    values: Record<string, OptionValue>,
    focused: string | undefined,
    resolved: Record<string, Json>,
  ): Json[] {
    const options: Json[] = [];
    for (const [name, value] of Object.entries(values)) {
      const def = defs?.find((o) => o.name === name);
      if (defs && !def) throw new Error(`fake discord: the command has no option "${name}"`);
      const type = def?.type ?? inferOptionType(value);
      const isFocused = name === focused;
      // Autocomplete sends whatever the user has typed so far, always as text.
      options.push({
        name,
        type,
        value: isFocused ? String(value) : coerceOption(type, value),
        ...(isFocused && { focused: true }),
      });
      if (!isFocused) this.resolveOption(type, String(value), resolved);
    }
    if (focused !== undefined && !(focused in values)) {
      const type = defs?.find((o) => o.name === focused)?.type ?? 3;
      options.push({ name: focused, type, value: "", focused: true });
    }
    const missing = focused === undefined ? defs?.filter((o) => o.required && !(o.name in values)) : [];
    if (missing?.length)
      throw new Error(`fake discord: missing required option(s) ${missing.map((o) => o.name).join(", ")}`);
    return options;
  }

  /** User, channel and role options carry their objects in `data.resolved`, like Discord. */
  private resolveOption(type: number, id: string, resolved: Record<string, Json>): void {
    const add = (kind: string, key: string, value: unknown) => {
      resolved[kind] = { ...(resolved[kind] ?? {}), [key]: value };
    };
    const member = this.members.get(id);
    const role = [...this.guilds.keys()].flatMap((g) => this.roles(g)).find((r) => r.id === id);
    if ((type === 6 || type === 9) && member) {
      add("users", id, member.user);
      const { user: _user, ...rest } = this.memberPayload(member);
      add("members", id, rest);
    } else if (type === 7 && this.channels.has(id)) {
      add("channels", id, { ...this.channels.get(id), permissions: MEMBER_PERMISSIONS });
    } else if ((type === 8 || type === 9) && role) {
      add("roles", id, role);
    }
  }

  private modalSubmission(shown: Json | undefined, fields: Record<string, string>): Json[] {
    if (!shown) {
      return Object.entries(fields).map(([custom_id, value]) => ({
        type: 1,
        components: [{ type: 4, custom_id, value }],
      }));
    }
    const used = new Set<string>();
    const components = asObjects(shown.components).map((node) => submittedNode(node, fields, used));
    const unknown = Object.keys(fields).filter((k) => !used.has(k));
    if (unknown.length)
      throw new Error(`fake discord: modal "${shown.custom_id}" has no input(s) ${unknown.join(", ")}`);
    return components;
  }

  // ------------------------------------------------------------------ gateway

  private onGatewaySocket(ws: WebSocket): void {
    const conn: GatewayConnection = { ws, closedByServer: false };
    this.connections.add(conn);
    ws.on("message", (raw: RawData) => this.onGatewayFrame(conn, raw));
    ws.on("close", (code: number) => this.onGatewayClose(conn, code));
    ws.on("error", () => {}); // Client resets are normal during reconnect tests.
    this.sendFrame(conn, { op: 10, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS } });
  }

  private onGatewayFrame(conn: GatewayConnection, raw: RawData): void {
    let frame: { op?: number; d?: unknown };
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      conn.ws.close(4002, "Error while decoding payload.");
      return;
    }
    switch (frame.op) {
      case 1:
        this.sendFrame(conn, { op: 11 });
        break;
      case 2:
        this.identify(conn, isObject(frame.d) ? frame.d : {});
        break;
      case 6:
        this.resume(conn, isObject(frame.d) ? frame.d : {});
        break;
      default:
        break; // Presence, voice and member requests are accepted and ignored.
    }
  }

  private onGatewayClose(conn: GatewayConnection, code: number): void {
    this.connections.delete(conn);
    const session = conn.session;
    if (!session || session.conn !== conn) return;
    session.conn = undefined;
    // A client closing with 1000/1001 ends its session for good (Discord's rule); other codes keep it resumable.
    if (!conn.closedByServer && (code === 1000 || code === 1001)) this.sessions.delete(session.id);
  }

  private identify(conn: GatewayConnection, d: Json): void {
    if (d.token !== this.token) {
      conn.ws.close(4004, "Authentication failed.");
      return;
    }
    if (conn.session) {
      conn.ws.close(4005, "Already authenticated.");
      return;
    }
    const shard: [number, number] = Array.isArray(d.shard)
      ? [Number(d.shard[0]), Number(d.shard[1])]
      : [0, 1];
    if (!(Number.isInteger(shard[0]) && shard[1] >= 1 && shard[0] >= 0 && shard[0] < shard[1])) {
      conn.ws.close(4010, "Invalid shard.");
      return;
    }
    if (shard[1] < this.requiredShards) {
      conn.ws.close(4011, "Sharding required.");
      return;
    }
    this.counters.identifies += 1;
    const session: Session = {
      id: randomBytes(16).toString("hex"),
      seq: 0,
      intents: Number(d.intents ?? 0),
      shard,
      history: [],
    };
    this.sessions.set(session.id, session);
    this.attach(conn, session);
    this.sendDispatch(session, "READY", this.readyPayload(session), false);
    for (const guildId of this.guildsOf(session))
      this.sendDispatch(session, "GUILD_CREATE", this.gatewayGuild(guildId));
  }

  /** The servers whose events go to a session: those of its shard, `(guild_id >> 22) % num_shards`. */
  private guildsOf(session: Session): string[] {
    return [...this.guilds.keys()].filter((id) => shardOf(id, session.shard[1]) === session.shard[0]);
  }

  private resume(conn: GatewayConnection, d: Json): void {
    const session = typeof d.session_id === "string" ? this.sessions.get(d.session_id) : undefined;
    if (!session || d.token !== this.token) {
      this.sendFrame(conn, { op: 9, d: false });
      return;
    }
    this.counters.resumes += 1;
    session.conn?.ws.close(4000, "Session resumed elsewhere");
    this.attach(conn, session);
    const seq = Number(d.seq ?? 0);
    for (const frame of session.history) if (frame.s > seq) this.sendFrame(conn, frame);
    this.sendDispatch(session, "RESUMED", null, false);
  }

  private attach(conn: GatewayConnection, session: Session): void {
    conn.session = session;
    session.conn = conn;
  }

  disconnectGateway(opts: { resumable?: boolean } = {}): void {
    const resumable = opts.resumable ?? true;
    for (const session of [...this.sessions.values()]) {
      const conn = session.conn;
      if (!conn) continue;
      if (resumable) {
        // Detach first so anything dispatched while the client reconnects is buffered for the RESUME replay.
        conn.closedByServer = true;
        session.conn = undefined;
        conn.ws.close(4000, "Unknown error (fake disconnect)");
      } else {
        // Invalid session, not resumable: discord.js closes and identifies again.
        this.sessions.delete(session.id);
        this.sendFrame(conn, { op: 9, d: false });
      }
    }
  }

  private interactionSession(guildId: string): Session {
    // Discord delivers an interaction to one session of the server's shard: the newest live one, else
    // the newest resumable one.
    const newestFirst = [...this.sessions.values()]
      .filter((s) => shardOf(guildId, s.shard[1]) === s.shard[0])
      .reverse();
    const session = newestFirst.find((s) => s.conn) ?? newestFirst[0];
    if (!session) throw new Error("fake discord: no gateway session; log the client in first");
    return session;
  }

  /** Dispatches an event to every session whose intents cover it, and whose shard holds its server. */
  private dispatch(t: string, d: unknown, intent = 0): void {
    const guildId = isObject(d) ? (d.guild_id ?? d.id) : undefined;
    for (const session of this.sessions.values()) {
      if ((session.intents & intent) !== intent) continue;
      if (
        typeof guildId === "string" &&
        this.guilds.has(guildId) &&
        !this.guildsOf(session).includes(guildId)
      )
        continue;
      this.sendDispatch(session, t, d);
    }
  }

  private sendDispatch(session: Session, t: string, d: unknown, replayable = true): void {
    session.seq += 1;
    const frame: DispatchFrame = { op: 0, s: session.seq, t, d };
    if (replayable) {
      session.history.push(frame);
      if (session.history.length > HISTORY_LIMIT) session.history.shift();
    }
    if (session.conn) this.sendFrame(session.conn, frame);
  }

  private sendFrame(conn: GatewayConnection, frame: object): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  private readyPayload(session: Session): Json {
    return {
      v: 10,
      user: { ...this.botUser, verified: true, mfa_enabled: false, flags: 0, email: null },
      guilds: this.guildsOf(session).map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      session_type: "normal",
      resume_gateway_url: this.gatewayUrl,
      shard: session.shard,
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      _trace: ["fake-discord"],
    };
  }

  // ------------------------------------------------------------------ guild objects

  private roles(guildId = this.guildId): Json[] {
    const role = (id: string, name: string, position: number, permissions: string, extra: Json = {}) => ({
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position,
      permissions,
      managed: false,
      mentionable: false,
      flags: 0,
      ...extra,
    });
    return [
      role(guildId, "@everyone", 0, MEMBER_PERMISSIONS),
      role(this.botRoleId, "Folio", 1, BOT_PERMISSIONS, { managed: true, tags: { bot_id: this.botUserId } }),
    ];
  }

  private restGuild(guildId: string): Json {
    const system = [...this.channels.values()].find((c) => c.guild_id === guildId && !c.thread_metadata);
    return {
      id: guildId,
      name: this.guilds.get(guildId),
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: this.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      roles: this.roles(guildId),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: system?.id ?? null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      max_members: 500_000,
      vanity_url_code: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: "en-US",
      nsfw_level: 0,
      incidents_data: null,
    };
  }

  private gatewayGuild(guildId: string): Json {
    const all = [...this.channels.values()].filter((c) => c.guild_id === guildId);
    return {
      ...this.restGuild(guildId),
      unavailable: false,
      joined_at: this.createdAt,
      large: false,
      lazy: true,
      member_count: this.members.size,
      members: [...this.members.values()].map((m) => this.memberPayload(m)),
      channels: all.filter((c) => !c.thread_metadata),
      threads: all.filter((c) => c.thread_metadata && !c.thread_metadata.archived),
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      embedded_activities: [],
      application_command_counts: {},
    };
  }

  // ------------------------------------------------------------------ HTTP entry point

  private async onHttpRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.baseUrl);
    if (url.pathname.startsWith("/attachments/")) {
      this.serveAttachment(url, res);
      return;
    }
    const method = (req.method ?? "GET").toUpperCase();
    const raw = await readBody(req);
    const underApi = url.pathname.startsWith(`${API_PREFIX}/`);
    const segments = underApi
      ? url.pathname.slice(API_PREFIX.length).split("/").filter(Boolean).map(safeDecode)
      : [];
    const path = underApi ? `/${segments.join("/")}` : url.pathname;
    const call: RestCallRecord = {
      at: Date.now(),
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      body: undefined,
      files: [],
    };
    const reply = await this.produceReply(req, call, underApi ? segments : undefined, url.searchParams, raw);
    call.status = reply.status;
    this.calls.push(call);
    writeReply(res, reply);
  }

  private async produceReply(
    req: IncomingMessage,
    call: RestCallRecord,
    segments: string[] | undefined,
    query: URLSearchParams,
    raw: Buffer,
  ): Promise<ApiReply> {
    let template = call.path;
    try {
      const parsed = await parseBody(raw, req.headers["content-type"]);
      call.body = parsed.body;
      call.files = parsed.files;
      const limited = this.takeRateLimit(call.method, call.path) ?? this.takeGlobalLimit(call.path);
      if (limited) return this.rateLimitReply(limited, call.method, template);
      if (!segments) throw Errors.notFound();
      const match = this.matchRoute(call.method, segments);
      if (!match) {
        // Recorded all the same: a bot calling what Discord does not have is a finding, not just a 404.
        this.checkAgainstSpec(call, query, req.headers["content-type"], false);
        throw Errors.notFound();
      }
      template = match.route.template;
      if (needsBotAuth(segments) && req.headers.authorization !== `Bot ${this.token}`)
        throw Errors.unauthorized();
      this.checkAgainstSpec(call, query, req.headers["content-type"]);
      const request = {
        method: call.method,
        params: match.params,
        query,
        body: parsed.body,
        files: parsed.files,
        headers: req.headers,
      };
      const reply = await match.route.handler(request);
      return { ...reply, headers: { ...rateLimitHeaders(call.method, template), ...reply.headers } };
    } catch (error) {
      const reply = this.failureReply(error, call.path);
      return { ...reply, headers: rateLimitHeaders(call.method, template) };
    }
  }

  /** Refuses, as Discord would, a request that breaks Discord's OpenAPI specification, and records it. */
  private checkAgainstSpec(
    call: RestCallRecord,
    query: URLSearchParams,
    contentType: string | undefined,
    refuse = true,
  ): void {
    const violations = requestViolations("discord", {
      method: call.method,
      path: call.path,
      query,
      body: call.body,
      contentType,
    });
    if (violations.length === 0) return;
    const search = query.toString();
    this.violations.push({
      at: Date.now(),
      method: call.method,
      path: search ? `${call.path}?${search}` : call.path,
      problems: violations.map(describeViolation),
    });
    if (refuse) throw Errors.formError(specErrorTree(violations));
  }

  private failureReply(error: unknown, path: string): ApiReply {
    if (!(error instanceof ApiError)) {
      // A bug in the fake itself: make it loud rather than letting the bot see a plausible answer.
      console.error("fake discord: internal error", error);
      this.rejected.push({ path, status: 500, message: String(error) });
      return { status: 500, body: { message: "500: Internal Server Error", code: 0 } };
    }
    this.rejected.push({ path, status: error.status, code: error.code, message: error.message });
    return errorReply(error);
  }

  private takeRateLimit(method: string, path: string): RateLimitRule | undefined {
    const rule = this.rateLimitRules.find((r) => {
      r.pathPattern.lastIndex = 0; // A /g pattern would otherwise remember its last match.
      return r.count > 0 && (!r.method || r.method.toUpperCase() === method) && r.pathPattern.test(path);
    });
    if (rule) rule.count -= 1;
    return rule;
  }

  /**
   * Discord's global limit: 50 requests per second from one bot, over every route but interaction
   * callbacks and webhooks (which Discord does not count), in windows of a second from the first
   * request of each. The 51st in a window gets a 429 with `global: true` and the wait until it ends.
   */
  private takeGlobalLimit(path: string): RateLimitRule | undefined {
    if (path.startsWith("/interactions/") || path.startsWith("/webhooks/")) return undefined;
    const now = Date.now();
    if (now >= this.globalWindow.start + 1000) this.globalWindow = { start: now, count: 0 };
    if (this.globalWindow.count < GLOBAL_PER_SECOND) {
      this.globalWindow.count += 1;
      return undefined;
    }
    this.counters.globalLimited += 1;
    const wait = Math.max(1, this.globalWindow.start + 1000 - now) / 1000;
    return { pathPattern: /.*/, count: 0, retryAfterSec: wait, global: true };
  }

  private rateLimitReply(rule: RateLimitRule, method: string, template: string): ApiReply {
    this.counters.rateLimited += 1;
    const global = rule.global ?? false;
    const headers: Record<string, string> = {
      ...rateLimitHeaders(method, template, 0, rule.retryAfterSec),
      "retry-after": String(rule.retryAfterSec),
      "x-ratelimit-scope": global ? "global" : "user",
    };
    if (global) headers["x-ratelimit-global"] = "true";
    return {
      status: 429,
      headers,
      body: { message: "You are being rate limited.", retry_after: rule.retryAfterSec, global },
    };
  }

  private serveAttachment(url: URL, res: ServerResponse): void {
    const id = url.pathname.split("/")[3] ?? "";
    const attachment = this.attachmentIndex.get(id);
    if (!attachment) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": attachment.content_type,
      "content-length": String(attachment.size),
    });
    res.end(attachment.data);
  }

  private matchRoute(
    method: string,
    segments: string[],
  ): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const matches = route.segments.every((part, i) => {
        const actual = segments[i] ?? "";
        if (part.startsWith(":")) params[part.slice(1)] = actual;
        return part.startsWith(":") || part === actual;
      });
      if (matches) return { route, params };
    }
    return undefined;
  }

  private on(method: string, template: string, handler: RouteHandler): void {
    this.routes.push({ method, template, segments: template.split("/").filter(Boolean), handler });
  }

  // ------------------------------------------------------------------ routes

  private registerRoutes(): void {
    this.registerMetaRoutes();
    this.registerCommandRoutes();
    this.registerInteractionRoutes();
    this.registerMessageRoutes();
    this.registerChannelRoutes();
    this.registerGuildRoutes();
  }

  private registerMetaRoutes(): void {
    this.on("GET", "/gateway/bot", () =>
      ok({
        url: this.gatewayUrl,
        shards: this.requiredShards,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      }),
    );
    this.on("GET", "/gateway", () => ok({ url: this.gatewayUrl }));
    this.on("GET", "/users/@me", () => ok({ ...this.botUser, verified: true, mfa_enabled: false, flags: 0 }));
    this.on("GET", "/users/:user", ({ params }) => {
      const member = this.members.get(params.user ?? "");
      if (!member) throw Errors.unknownUser();
      return ok(member.user);
    });
    this.on("GET", "/applications/@me", () => ok(this.applicationObject()));
    this.on("GET", "/oauth2/applications/@me", () => ok(this.applicationObject()));
  }

  private applicationObject(): Json {
    return {
      id: this.applicationId,
      name: "Folio",
      icon: null,
      description: "",
      summary: "",
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: randomBytes(32).toString("hex"),
      flags: 0,
      owner: userObject(this.ownerId, "owner"),
      team: null,
      bot: this.botUser,
    };
  }

  private registerCommandRoutes(): void {
    for (const prefix of ["/applications/:app/commands", "/applications/:app/guilds/:guild/commands"]) {
      this.on("GET", prefix, (r) => ok(this.commands(this.commandScope(r))));
      this.on("PUT", prefix, (r) => ok(this.overwriteCommands(this.commandScope(r), r.body)));
      this.on("POST", prefix, (r) => this.upsertCommand(this.commandScope(r), r.body));
      this.on("GET", `${prefix}/:command`, (r) => ok(this.commandById(r)));
      this.on("PATCH", `${prefix}/:command`, (r) => ok(this.patchCommand(r)));
      this.on("DELETE", `${prefix}/:command`, (r) => {
        const scope = this.commandScope(r);
        const target = this.commandById(r);
        this.commandScopes.set(
          scope,
          this.commands(scope).filter((c) => c !== target),
        );
        return noContent();
      });
    }
  }

  private commandScope({ params }: ApiRequest): string {
    if (params.app !== this.applicationId) throw Errors.notFound();
    if (params.guild !== undefined && !this.guilds.has(params.guild)) throw Errors.unknownGuild();
    return params.guild ?? "global";
  }

  private commandById(r: ApiRequest): Json {
    const command = this.commands(this.commandScope(r)).find((c) => c.id === r.params.command);
    if (!command) throw Errors.unknownCommand();
    return command;
  }

  private overwriteCommands(scope: string, body: unknown): Json[] {
    const inputs = validate(z.array(commandSchema).max(100), body);
    const previous = this.commands(scope);
    // Bulk overwrite keeps the id of a command whose name and type are unchanged, as Discord does.
    const next = inputs.map((input) => {
      const same = previous.find((c) => c.name === input.name && (c.type ?? 1) === (input.type ?? 1));
      return this.storedCommand(scope, input, same?.id as string | undefined);
    });
    this.commandScopes.set(scope, next);
    return next;
  }

  private upsertCommand(scope: string, body: unknown): ApiReply {
    const input = validate(commandSchema, body);
    const list = this.commands(scope);
    const index = list.findIndex((c) => c.name === input.name && (c.type ?? 1) === (input.type ?? 1));
    const command = this.storedCommand(scope, input, list[index]?.id as string | undefined);
    if (index >= 0) list[index] = command;
    else list.push(command);
    this.commandScopes.set(scope, list);
    return index >= 0 ? ok(command) : created(command);
  }

  private patchCommand(r: ApiRequest): Json {
    const scope = this.commandScope(r);
    const current = this.commandById(r);
    const input = validate(commandSchema, { ...current, ...(isObject(r.body) ? r.body : {}) });
    const command = this.storedCommand(scope, input, current.id as string);
    this.commandScopes.set(
      scope,
      this.commands(scope).map((c) => (c === current ? command : c)),
    );
    return command;
  }

  private storedCommand(scope: string, input: Json, id = snowflake()): Json {
    return {
      description: "",
      options: [],
      default_member_permissions: null,
      nsfw: false,
      contexts: null,
      integration_types: [0],
      name_localizations: null,
      description_localizations: null,
      ...input,
      id,
      type: input.type ?? 1,
      application_id: this.applicationId,
      version: snowflake(),
      ...(scope !== "global" && { guild_id: scope }),
    };
  }

  // ------------------------------------------------------------------ interaction routes

  private registerInteractionRoutes(): void {
    this.on("POST", "/interactions/:id/:token/callback", (r) => this.interactionCallback(r));
    this.on("POST", "/webhooks/:app/:token", (r) => this.followUp(r));
    this.on("GET", "/webhooks/:app/:token/messages/:message", (r) =>
      ok(this.apiMessage(this.webhookMessage(r))),
    );
    this.on("PATCH", "/webhooks/:app/:token/messages/:message", (r) => this.editWebhookMessage(r));
    this.on("DELETE", "/webhooks/:app/:token/messages/:message", (r) => {
      this.webhookMessage(r).deleted = true;
      return noContent();
    });
  }

  private interactionCallback(r: ApiRequest): ApiReply {
    const record = this.interactionsByToken.get(r.params.token ?? "");
    if (!record || record.id !== r.params.id) throw Errors.unknownInteraction();
    if (record.ackAt !== undefined) {
      this.counters.duplicateAcks += 1;
      throw Errors.alreadyAcknowledged();
    }
    const now = Date.now();
    if (record.expired || now - record.dispatchedAt > this.ackTimeoutMs) {
      record.expired = true;
      throw Errors.unknownInteraction();
    }
    const callback = validate(callbackSchema, r.body);
    const data = isObject(callback.data) ? callback.data : {};
    const message = this.applyCallback(record, callback.type, data, r.files);
    Object.assign(record, { ackAt: now, ackType: callback.type, ackLatencyMs: now - record.dispatchedAt });
    record.responses.push({
      kind: "callback",
      at: now,
      body: { type: callback.type, data },
      files: r.files,
      flags: Number(data.flags ?? 0),
      callbackType: callback.type,
      messageId: message?.id,
    });
    return r.query.get("with_response") === "true"
      ? ok(this.callbackResponse(record, callback.type, message))
      : noContent();
  }

  /** Validates and performs one callback type; returns the message it created or updated, if any. */
  private applyCallback(
    record: InteractionRecord,
    type: number,
    data: Json,
    files: UploadedFile[],
  ): StoredMessage | undefined {
    const channel = this.requireChannel(record.channelId);
    switch (type) {
      case Callback.Message:
        return this.replyMessage(record, channel, data, files, Number(data.flags ?? 0));
      case Callback.DeferredMessage:
        return this.replyMessage(
          record,
          channel,
          {},
          [],
          Flags.Loading | (Number(data.flags ?? 0) & Flags.Ephemeral),
        );
      case Callback.DeferredUpdate:
      case Callback.UpdateMessage:
        return this.updateComponentMessage(record, type, data, files);
      case Callback.Autocomplete:
        requireInteractionType(record, [InteractionType.Autocomplete]);
        validate(autocompleteSchema, data);
        return undefined;
      case Callback.Modal:
        requireInteractionType(record, [InteractionType.Command, InteractionType.Component]);
        validate(modalSchema, data);
        record.modal = data;
        return undefined;
      default:
        throw Errors.fieldError(
          "type",
          "INTERACTION_RESPONSE_TYPE_INVALID",
          `Callback type ${type} is not valid here`,
        );
    }
  }

  private replyMessage(
    record: InteractionRecord,
    channel: StoredChannel,
    data: Json,
    files: UploadedFile[],
    flags: number,
  ): StoredMessage {
    if (record.type === InteractionType.Autocomplete) {
      throw Errors.fieldError(
        "type",
        "INTERACTION_RESPONSE_TYPE_INVALID",
        "Autocomplete can only be answered with choices",
      );
    }
    const requireContent = (flags & Flags.Loading) === 0;
    const message = this.createMessage(channel, data, files, { interaction: record, flags, requireContent });
    record.originalMessageId = message.id;
    return message;
  }

  private updateComponentMessage(
    record: InteractionRecord,
    type: number,
    data: Json,
    files: UploadedFile[],
  ): StoredMessage {
    const target = record.messageId ? this.messageIndex.get(record.messageId) : undefined;
    if (!target || target.deleted) {
      throw Errors.fieldError(
        "type",
        "INTERACTION_RESPONSE_TYPE_INVALID",
        "Only interactions on a message can update it",
      );
    }
    record.originalMessageId = target.id;
    if (type === Callback.UpdateMessage) this.editMessage(target, data, files);
    return target;
  }

  private callbackResponse(
    record: InteractionRecord,
    type: number,
    message: StoredMessage | undefined,
  ): Json {
    return {
      interaction: {
        id: record.id,
        type: record.type,
        activity_instance_id: null,
        response_message_id: message?.id ?? null,
        response_message_loading: message ? (message.flags & Flags.Loading) !== 0 : null,
        response_message_ephemeral: message ? (message.flags & Flags.Ephemeral) !== 0 : null,
      },
      resource: { type, ...(message && { message: this.apiMessage(message) }) },
    };
  }

  private webhookInteraction({ params }: ApiRequest): InteractionRecord {
    const record = this.interactionsByToken.get(params.token ?? "");
    // The interaction webhook only exists once the interaction has been acknowledged in time.
    if (params.app !== this.applicationId || !record || record.ackAt === undefined)
      throw Errors.unknownWebhook();
    return record;
  }

  private followUp(r: ApiRequest): ApiReply {
    const record = this.webhookInteraction(r);
    const body = isObject(r.body) ? r.body : {};
    const flags = Number(body.flags ?? 0);
    const message = this.createMessage(this.requireChannel(record.channelId), body, r.files, {
      interaction: record,
      flags,
      requireContent: true,
    });
    record.responses.push({
      kind: "followup",
      at: Date.now(),
      body,
      files: r.files,
      flags,
      messageId: message.id,
    });
    return r.query.get("wait") === "false" ? noContent() : ok(this.apiMessage(message));
  }

  private webhookMessage(r: ApiRequest): StoredMessage {
    const record = this.webhookInteraction(r);
    const id = r.params.message === "@original" ? record.originalMessageId : r.params.message;
    const message = id ? this.messageIndex.get(id) : undefined;
    const ownedByInteraction =
      message && (message.interactionId === record.id || id === record.originalMessageId);
    if (!message || message.deleted || !ownedByInteraction) throw Errors.unknownMessage();
    return message;
  }

  private editWebhookMessage(r: ApiRequest): ApiReply {
    const record = this.webhookInteraction(r);
    const message = this.webhookMessage(r);
    const body = isObject(r.body) ? r.body : {};
    this.editMessage(message, body, r.files);
    const kind = message.id === record.originalMessageId ? "edit-original" : "edit-followup";
    record.responses.push({
      kind,
      at: Date.now(),
      body,
      files: r.files,
      flags: message.flags,
      messageId: message.id,
    });
    return ok(this.apiMessage(message));
  }

  // ------------------------------------------------------------------ message routes

  private registerMessageRoutes(): void {
    this.on("POST", "/channels/:channel/messages", (r) => {
      const channel = this.requireChannel(r.params.channel);
      const body = isObject(r.body) ? r.body : {};
      const down = this.failingPosts;
      const [first] = Array.isArray(body.embeds) ? body.embeds : [];
      if (down && down.times > 0 && isObject(first) && down.title.test(String(first.title ?? ""))) {
        down.times -= 1;
        throw new ApiError(500, 0, "500: Internal Server Error");
      }
      // With enforce_nonce, a nonce this channel saw in the last few minutes returns that message.
      const key =
        body.enforce_nonce && body.nonce != null ? `${channel.id}:${String(body.nonce)}` : undefined;
      const seen = key ? this.nonces.get(key) : undefined;
      if (seen && Date.now() - seen.at < NONCE_WINDOW_MS) return ok(this.apiMessage(seen.message));
      const message = this.createMessage(channel, body, r.files, {
        flags: Number(body.flags ?? 0),
        requireContent: true,
      });
      if (key) this.nonces.set(key, { message, at: Date.now() });
      const failing = this.failingUploads;
      if (failing && failing.times > 0 && r.files.some((f) => failing.filename.test(f.filename))) {
        // Stored, then answered as a backend that timed out after the write.
        failing.times -= 1;
        throw new ApiError(500, 0, "500: Internal Server Error");
      }
      return ok(this.apiMessage(message));
    });
    this.on("GET", "/channels/:channel/messages", (r) => ok(this.listMessages(r)));
    this.on("GET", "/channels/:channel/messages/:message", (r) =>
      ok(this.apiMessage(this.channelMessage(r))),
    );
    this.on("PATCH", "/channels/:channel/messages/:message", (r) => {
      const message = this.channelMessage(r);
      this.editMessage(message, isObject(r.body) ? r.body : {}, r.files);
      return ok(this.apiMessage(message));
    });
    this.on("DELETE", "/channels/:channel/messages/:message", (r) => {
      this.channelMessage(r).deleted = true;
      return noContent();
    });
  }

  private channelMessage(r: ApiRequest): StoredMessage {
    this.requireChannel(r.params.channel);
    const message = this.messageIndex.get(r.params.message ?? "");
    // Ephemeral messages are invisible to the channel endpoints, as on Discord.
    if (!message || message.deleted || message.visibleTo || message.channel_id !== r.params.channel) {
      throw Errors.unknownMessage();
    }
    return message;
  }

  private listMessages(r: ApiRequest): Json[] {
    this.requireChannel(r.params.channel);
    const limit = Math.min(Math.max(Number(r.query.get("limit") ?? 50), 1), 100);
    const before = r.query.get("before");
    const after = r.query.get("after");
    const visible = this.messages(r.params.channel ?? "").filter(
      (m) =>
        !m.visibleTo &&
        (!before || BigInt(m.id) < BigInt(before)) &&
        (!after || BigInt(m.id) > BigInt(after)),
    );
    return visible
      .reverse()
      .slice(0, limit)
      .map((m) => this.apiMessage(m));
  }

  private createMessage(
    channel: StoredChannel,
    payload: Json,
    files: UploadedFile[],
    origin: { interaction?: InteractionRecord; flags: number; requireContent: boolean },
  ): StoredMessage {
    const input = checkMessage(payload, files, this.uploadLimitBytes);
    const message = this.newMessage(channel, input, origin.interaction, origin.flags);
    message.attachments = this.storeAttachments(channel.id, files, input.attachments ?? []);
    if (origin.requireContent && isEmptyMessage(message)) throw Errors.emptyMessage();
    this.indexMessage(channel, message);
    return message;
  }

  private newMessage(
    channel: StoredChannel,
    input: MessageInput,
    interaction: InteractionRecord | undefined,
    flags: number,
  ): StoredMessage {
    // Only interaction responses can be ephemeral; Discord ignores the bit on channel messages.
    const allowed = interaction ? SENDABLE_FLAGS | Flags.Loading : SENDABLE_FLAGS & ~Flags.Ephemeral;
    const ephemeral = interaction !== undefined && (flags & Flags.Ephemeral) !== 0;
    const content = input.content ?? "";
    return {
      id: snowflake(),
      channel_id: channel.id,
      guild_id: channel.guild_id,
      type: interaction?.type === InteractionType.Command ? 20 : 0,
      author: this.botUser,
      content,
      embeds: (input.embeds ?? []).map((e) => ({ type: "rich", ...e })),
      components: asObjects(input.components),
      attachments: [],
      flags: flags & allowed,
      timestamp: isoNow(),
      edited_timestamp: null,
      tts: false,
      pinned: false,
      ...this.mentionsIn(content, input.allowed_mentions ?? undefined),
      allowed_mentions: input.allowed_mentions,
      message_reference: input.message_reference,
      editCount: 0,
      embedHistory: [],
      deleted: false,
      ...(interaction && this.interactionFields(interaction)),
      ...(ephemeral && interaction && { visibleTo: interaction.userId }),
    };
  }

  private interactionFields(interaction: InteractionRecord): Partial<StoredMessage> {
    return {
      webhook_id: this.applicationId,
      application_id: this.applicationId,
      interactionId: interaction.id,
      interaction_metadata: {
        id: interaction.id,
        type: interaction.type,
        user: this.members.get(interaction.userId)?.user,
        authorizing_integration_owners: { "0": this.guildId },
        ...(interaction.commandName && { name: interaction.commandName }),
        ...(interaction.messageId && { interacted_message_id: interaction.messageId }),
        ...(interaction.originalMessageId && { original_response_message_id: interaction.originalMessageId }),
      },
    };
  }

  private indexMessage(channel: StoredChannel, message: StoredMessage): void {
    const list = this.channelMessages.get(channel.id) ?? [];
    list.push(message);
    this.channelMessages.set(channel.id, list);
    this.messageIndex.set(message.id, message);
    channel.last_message_id = message.id;
    if (channel.thread_metadata) {
      channel.message_count = (channel.message_count ?? 0) + 1;
      channel.total_message_sent = (channel.total_message_sent ?? 0) + 1;
    }
  }

  private editMessage(message: StoredMessage, payload: Json, files: UploadedFile[]): void {
    const input = checkMessage(payload, files, this.uploadLimitBytes);
    if (input.content !== undefined) message.content = input.content ?? "";
    if (input.embeds !== undefined)
      message.embeds = (input.embeds ?? []).map((e) => ({ type: "rich", ...e }));
    if (input.components !== undefined) message.components = asObjects(input.components);
    if (input.allowed_mentions !== undefined) message.allowed_mentions = input.allowed_mentions;
    // discord.js echoes the flags it knows on every edit; Discord only applies the editable ones, and any
    // edit ends the deferred "thinking..." state.
    const requested = (input.flags ?? message.flags) & EDITABLE_FLAGS;
    message.flags = (message.flags & ~EDITABLE_FLAGS & ~Flags.Loading) | requested;
    message.attachments = this.editedAttachments(message, files, input.attachments);
    Object.assign(
      message,
      this.mentionsIn(
        message.content,
        (message.allowed_mentions ?? undefined) as AllowedMentions | undefined,
      ),
    );
    if (isEmptyMessage(message)) throw Errors.emptyMessage();
    message.edited_timestamp = isoNow();
    message.editCount += 1;
    message.embedHistory.push(message.embeds);
  }

  /** Discord keeps only the existing attachments listed in `attachments` when that field is sent. */
  private editedAttachments(
    message: StoredMessage,
    files: UploadedFile[],
    listed: MessageInput["attachments"],
  ): StoredAttachment[] {
    const keepIds = listed ? new Set(listed.map((a) => String(a.id))) : undefined;
    const kept = message.attachments.filter((a) => !keepIds || keepIds.has(a.id));
    return [...kept, ...this.storeAttachments(message.channel_id, files, listed ?? [])];
  }

  private storeAttachments(
    channelId: string,
    files: UploadedFile[],
    described: Array<Json & { id: string | number }>,
  ): StoredAttachment[] {
    return files.map((file, position) => {
      const meta = described.find((a) => String(a.id) === fileIndex(file, position));
      const id = snowflake();
      const filename = typeof meta?.filename === "string" ? meta.filename : file.filename;
      const url = `${this.baseUrl}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
      const attachment: StoredAttachment = {
        id,
        filename,
        size: file.data.length,
        url,
        proxy_url: url,
        content_type: file.contentType,
        ...(typeof meta?.description === "string" && { description: meta.description }),
        data: file.data,
      };
      this.attachmentIndex.set(id, attachment);
      return attachment;
    });
  }

  /** Who a message actually pings, after `allowed_mentions` (absent means Discord parses everything). */
  private mentionsIn(
    content: string,
    allowed: AllowedMentions | undefined,
  ): Pick<StoredMessage, "mentions" | "mention_roles" | "mention_everyone"> {
    const parse = allowed ? (allowed.parse ?? []) : ["users", "roles", "everyone"];
    const ids = (pattern: RegExp) => [...new Set([...content.matchAll(pattern)].map((m) => m[1] ?? ""))];
    const users = ids(/<@!?(\d+)>/g).filter((id) => parse.includes("users") || allowed?.users?.includes(id));
    const roles = ids(/<@&(\d+)>/g).filter((id) => parse.includes("roles") || allowed?.roles?.includes(id));
    return {
      mentions: users.map((id) => this.members.get(id)?.user ?? userObject(id, "unknown")),
      mention_roles: roles,
      mention_everyone: parse.includes("everyone") && /@(everyone|here)\b/.test(content),
    };
  }

  private apiMessage(message: StoredMessage): Json {
    const {
      editCount: _e,
      embedHistory: _h,
      deleted: _d,
      visibleTo: _v,
      interactionId: _i,
      allowed_mentions: _a,
      attachments,
      ...rest
    } = message;
    return {
      ...rest,
      attachments: attachments.map(({ data: _data, ...a }) => ({
        ...a,
        ...(message.visibleTo && { ephemeral: true }),
      })),
    };
  }

  // ------------------------------------------------------------------ channel and guild routes

  private registerChannelRoutes(): void {
    this.on("GET", "/channels/:channel", (r) => ok(this.requireChannel(r.params.channel)));
    this.on("PATCH", "/channels/:channel", (r) =>
      ok(this.patchChannel(this.requireChannel(r.params.channel), r.body)),
    );
    this.on("POST", "/channels/:channel/threads", (r) => created(this.createThread(r)));
    this.on("POST", "/channels/:channel/messages/:message/threads", (r) => created(this.createThread(r)));
  }

  private requireChannel(id: string | undefined): StoredChannel {
    const channel = this.channels.get(id ?? "");
    if (!channel) throw Errors.unknownChannel();
    return channel;
  }

  private createThread(r: ApiRequest): StoredChannel {
    const parent = this.requireChannel(r.params.channel);
    if (parent.type !== ChannelType.Text && parent.type !== ChannelType.Announcement)
      throw Errors.wrongChannelType();
    const input = validate(threadSchema, r.body);
    const starter = r.params.message ? this.channelMessage(r) : undefined;
    if (starter?.thread) throw Errors.threadExists();
    const type = starter
      ? parent.type === ChannelType.Announcement
        ? ChannelType.AnnouncementThread
        : ChannelType.PublicThread
      : (input.type ?? ChannelType.PublicThread);
    const thread = this.newThread(parent, starter?.id ?? snowflake(), input.name, type, input);
    this.channels.set(thread.id, thread);
    if (starter) {
      starter.thread = thread;
      starter.flags |= Flags.HasThread;
    }
    this.dispatch("THREAD_CREATE", { ...thread, newly_created: true }, Intents.Guilds);
    return thread;
  }

  private newThread(
    parent: StoredChannel,
    id: string,
    name: string,
    type: number,
    input: z.output<typeof threadSchema>,
  ): StoredChannel {
    const now = isoNow();
    return {
      id,
      type,
      guild_id: parent.guild_id,
      parent_id: parent.id,
      owner_id: this.botUserId,
      name,
      nsfw: false,
      last_message_id: null,
      rate_limit_per_user: input.rate_limit_per_user ?? 0,
      flags: 0,
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
      applied_tags: [],
      thread_metadata: {
        archived: false,
        auto_archive_duration: input.auto_archive_duration ?? 4320,
        archive_timestamp: now,
        locked: false,
        create_timestamp: now,
        ...(type === ChannelType.PrivateThread && { invitable: input.invitable ?? true }),
      },
      member: { id, user_id: this.botUserId, join_timestamp: now, flags: 0 },
    };
  }

  private patchChannel(channel: StoredChannel, body: unknown): StoredChannel {
    const { archived, locked, auto_archive_duration, invitable, ...rest } = validate(
      channelPatchSchema,
      body,
    );
    for (const key of PATCHABLE_CHANNEL_FIELDS) if (rest[key] !== undefined) channel[key] = rest[key];
    if (channel.thread_metadata) {
      const meta = channel.thread_metadata;
      const changes = { archived, locked, auto_archive_duration, invitable };
      for (const [key, value] of Object.entries(changes))
        if (value !== undefined) Object.assign(meta, { [key]: value });
      if (archived !== undefined) meta.archive_timestamp = isoNow();
    }
    this.dispatch(channel.thread_metadata ? "THREAD_UPDATE" : "CHANNEL_UPDATE", channel, Intents.Guilds);
    return channel;
  }

  private registerGuildRoutes(): void {
    this.on("GET", "/guilds/:guild", (r) => ok(this.guildFor(r, (id) => this.restGuild(id))));
    this.on("GET", "/guilds/:guild/roles", (r) => ok(this.guildFor(r, (id) => this.roles(id))));
    this.on("GET", "/guilds/:guild/channels", (r) =>
      ok(
        this.guildFor(r, (id) =>
          [...this.channels.values()].filter((c) => c.guild_id === id && !c.thread_metadata),
        ),
      ),
    );
    this.on("GET", "/guilds/:guild/threads/active", (r) =>
      ok(
        this.guildFor(r, (id) => ({
          threads: this.threads().filter((t) => t.guild_id === id && !t.thread_metadata?.archived),
          members: [],
        })),
      ),
    );
    this.on("GET", "/guilds/:guild/members/:user", (r) =>
      ok(
        this.guildFor(r, () => {
          const member = this.members.get(r.params.user ?? "");
          if (!member) throw Errors.unknownMember();
          return this.memberPayload(member);
        }),
      ),
    );
  }

  private guildFor<T>(r: ApiRequest, build: (guildId: string) => T): T {
    const guildId = r.params.guild ?? "";
    if (!this.guilds.has(guildId)) throw Errors.unknownGuild();
    return build(guildId);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Free functions used by the fake
// ---------------------------------------------------------------------------------------------------------

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Interaction callbacks and interaction webhooks authenticate with their token, not the bot's. */
function needsBotAuth(segments: string[]): boolean {
  return segments[0] !== "interactions" && segments[0] !== "webhooks";
}

function checkMessage(payload: Json, files: UploadedFile[], limit: number): MessageInput {
  if (uploadedBytes(files) > limit) throw Errors.tooLarge();
  return validate(messageSchema, payload);
}

function isEmptyMessage(m: StoredMessage): boolean {
  return (
    m.content.trim() === "" &&
    m.embeds.length === 0 &&
    m.attachments.length === 0 &&
    m.components.length === 0
  );
}

function requireInteractionType(record: InteractionRecord, allowed: number[]): void {
  if (!allowed.includes(record.type)) {
    throw Errors.fieldError(
      "type",
      "INTERACTION_RESPONSE_TYPE_INVALID",
      "This callback type is not valid for this interaction",
    );
  }
}

function inferOptionType(value: OptionValue): number {
  if (typeof value === "boolean") return 5;
  if (typeof value === "number") return Number.isInteger(value) ? 4 : 10;
  return 3;
}

function coerceOption(type: number, value: OptionValue): OptionValue {
  switch (type) {
    case 4:
    case 10:
      return Number(value);
    case 5:
      return value === true || value === "true";
    default:
      return String(value);
  }
}

/** Mirrors one node of the modal the bot showed, filling text inputs with the submitted values. */
function submittedNode(node: Json, fields: Record<string, string>, used: Set<string>): Json {
  const base = { type: node.type, ...(node.id !== undefined && { id: node.id }) };
  if (node.type === 1)
    return { ...base, components: asObjects(node.components).map((c) => submittedInput(c, fields, used)) };
  if (node.type === 18 && isObject(node.component))
    return { ...base, component: submittedInput(node.component, fields, used) };
  return base;
}

function submittedInput(input: Json, fields: Record<string, string>, used: Set<string>): Json {
  const customId = String(input.custom_id ?? "");
  const base = { type: input.type, custom_id: customId, ...(input.id !== undefined && { id: input.id }) };
  if (input.type !== 4) return { ...base, values: [] };
  const value = fields[customId] ?? "";
  used.add(customId);
  // The Discord client itself refuses these submissions, so a test asking for one has a bug.
  if (input.required !== false && value === "")
    throw new Error(`fake discord: modal input "${customId}" is required`);
  if (typeof input.max_length === "number" && value.length > input.max_length) {
    throw new Error(`fake discord: modal input "${customId}" is limited to ${input.max_length} characters`);
  }
  return { ...base, value };
}
