import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../../src/config";
import { type Bot, type BotOptions, startBot } from "../../src/discord/bot";
import {
  type FakeDiscord,
  type FakeDiscordOptions,
  type MemberRef,
  type StoredMessage,
  startFakeDiscord,
} from "../fakes/discord-server";
import { type FakeLlm, type FakeLlmOptions, startFakeLlm } from "../fakes/llm-server";
import { ROOT, tempDir } from "./cli";
import { storeFor } from "./postgres";

export interface World {
  discord: FakeDiscord;
  llm: FakeLlm;
  bot: Bot;
  dir: string;
  env: Record<string, string>;
  author: MemberRef;
  other: MemberRef;
  admin: MemberRef;
  stop(): Promise<void>;
}

/** Manage Server, as a decimal permission bitfield. */
export const MANAGE_GUILD = String(1n << 5n);

/** Fake Discord + fake model endpoint + the real bot (real discord.js and openai clients) in this process. */
export async function startWorld(
  options: {
    llm?: FakeLlmOptions;
    bot?: BotOptions;
    env?: Record<string, string>;
    discord?: FakeDiscordOptions;
  } = {},
): Promise<World> {
  const discord = await startFakeDiscord(options.discord);
  const llm = await startFakeLlm({ seed: 21, ...options.llm });
  const dir = tempDir("folio-discord-");
  const env = {
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_GUILD_ID: discord.guildId,
    DISCORD_API_URL: discord.apiUrl,
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "test-key",
    FOLIO_DB_PATH: join(dir, "folio.db"),
    FOLIO_LEASE_MS: "1500",
    FOLIO_RETRY_BASE_MS: "20",
    FOLIO_POLL_MS: "100",
    ...storeFor(options.env ?? {}),
    ...options.env,
  };
  const bot = await startBot(loadConfig(env, { dotenv: false }), pino({ level: "silent" }), {
    progressIntervalMs: 400,
    ...options.bot,
  });
  return {
    discord,
    llm,
    bot,
    dir,
    env,
    author: discord.addMember({ username: "author" }),
    other: discord.addMember({ username: "bystander" }),
    admin: discord.addMember({ username: "moderator", permissions: MANAGE_GUILD }),
    async stop() {
      await bot.stop();
      await discord.close();
      await llm.close();
    },
  };
}

/** The most `at` times falling within any one span of `seconds` (one second unless told). */
export function busiestSpan(times: number[], seconds = 1): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= seconds * 1000) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

export const titleOf = (m: StoredMessage) =>
  String((m.embeds[0] as { title?: string } | undefined)?.title ?? "");
export const descriptionOf = (m: StoredMessage) =>
  String((m.embeds[0] as { description?: string } | undefined)?.description ?? "");

export function buttonIds(m: StoredMessage): string[] {
  return m.components.flatMap((row) =>
    ((row as { components?: { custom_id?: string }[] }).components ?? []).map((c) => c.custom_id ?? ""),
  );
}

export function buttonsDisabled(m: StoredMessage): boolean {
  return m.components.every((row) =>
    ((row as { components?: { disabled?: boolean }[] }).components ?? []).every((c) => c.disabled === true),
  );
}

/** The first message in the channel matching `predicate`, waiting for it to appear. */
export function waitForMessage(
  discord: FakeDiscord,
  channelId: string,
  predicate: (m: StoredMessage) => boolean,
  timeoutMs = 30_000,
): Promise<StoredMessage> {
  return discord.waitFor(() => discord.messages(channelId).find(predicate), timeoutMs);
}

export function ephemeralText(record: {
  responses: { body: Record<string, unknown>; flags: number }[];
}): string[] {
  return record.responses
    .filter((r) => (r.flags & 64) === 64)
    .map((r) => {
      const body = r.body as { content?: string; data?: { content?: string } };
      return body.data?.content ?? body.content ?? "";
    });
}

/**
 * `npm start` in a process of its own, logged in to the fake Discord, in `cwd`. The model endpoint is
 * only what `env` gives it (a gateway must not need one).
 */
export function botProcess(
  discord: FakeDiscord,
  cwd: string,
  env: Record<string, string>,
  stdio: StdioOptions,
): ChildProcess {
  const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...inherited } = process.env;
  return spawn(process.execPath, [join(ROOT, "bin/bot.js")], {
    cwd,
    env: {
      ...inherited,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      FOLIO_RETRY_BASE_MS: "20",
      ...env,
    },
    stdio,
  });
}
