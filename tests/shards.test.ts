import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../src/config";
import { startShards } from "../src/discord/shards";
import { type FakeDiscord, shardOf, startFakeDiscord } from "./fakes/discord-server";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { storeEnv, tempDir } from "./helpers/cli";
import { botProcess, startWorld, type World } from "./helpers/discord";

/** A second server whose events go to the other of two shards than the first server's. */
function guildOnOtherShard(discord: FakeDiscord): { guildId: string; channelId: string } {
  for (;;) {
    const guild = discord.addGuild(`Server ${Math.random().toString(36).slice(2, 6)}`);
    if (shardOf(guild.guildId, 2) !== shardOf(discord.guildId, 2)) return guild;
  }
}

const premise = (k: number) =>
  `SHARD-${k}: a ferry pilot keeps a ledger of passengers the river returned years later.`;

/** Starts a short novel in a channel and returns when the bot has acknowledged the command. */
async function startNovel(discord: FakeDiscord, user: string, channelId: string, k: number): Promise<void> {
  const start = await discord.sendCommand({
    user,
    channelId,
    command: "novel",
    subcommand: "start",
    options: { premise: premise(k), scenes: 3, words: 2400, auto_approve: true },
  });
  await start.waitForAck();
}

const delivered = (discord: FakeDiscord) =>
  discord
    .threads()
    .filter((t) =>
      discord.messages(t.id).some((m) => m.attachments.some((a) => a.filename.endsWith(".docx"))),
    );

describe("gateway sharding", () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.stop();
    world = undefined;
  });

  it("refuses shard settings that cannot work, in one line", async () => {
    const config = (env: Record<string, string>) =>
      loadConfig({ DISCORD_TOKEN: "t", ...env }, { dotenv: false });
    expect(() => config({ FOLIO_SHARD_IDS: "0,x" })).toThrow(
      'Configuration error: FOLIO_SHARD_IDS is "0,x": shard ids, separated by commas, e.g. "0,1".',
    );
    expect(() => config({ FOLIO_SHARDS: "0" })).toThrow(/^Configuration error: FOLIO_SHARDS is "0"/);
    expect(config({ FOLIO_SHARDS: "4", FOLIO_SHARD_IDS: "3, 1,1" }).FOLIO_SHARD_IDS).toEqual([1, 3]);
    const log = pino({ level: "silent" });
    await expect(startShards(config({ FOLIO_SHARDS: "2", FOLIO_SHARD_IDS: "1,2" }), log, "")).rejects.toThrow(
      "Configuration error: FOLIO_SHARD_IDS names shard 2, but FOLIO_SHARDS is 2 (ids start at 0).",
    );
    await expect(
      startShards(config({ FOLIO_SHARDS: "auto", FOLIO_SHARD_IDS: "1" }), log, ""),
    ).rejects.toThrow("Configuration error: FOLIO_SHARD_IDS needs FOLIO_SHARDS set to a number.");
  });

  it("is refused by a Discord that requires shards, unless the client shards", async () => {
    const discord = await startFakeDiscord({ shards: 2 });
    try {
      const closeCode = async (shard?: [number, number]) => {
        const ws = new WebSocket(discord.apiUrl.replace(/^http/, "ws").replace(/\/api$/, ""));
        await once(ws, "open");
        const closed = once(ws, "close");
        ws.send(JSON.stringify({ op: 2, d: { token: discord.token, intents: 1, properties: {}, shard } }));
        const timer = setTimeout(() => ws.close(1000), 1_000);
        const [code] = (await closed) as [number];
        clearTimeout(timer);
        return code;
      };
      expect(await closeCode()).toBe(4011);
      expect(await closeCode([0, 1])).toBe(4011);
      expect(await closeCode([2, 2])).toBe(4010);
      // A shard Discord accepts is kept open (closed here by the client, 1000).
      expect(await closeCode([1, 2])).toBe(1000);
    } finally {
      await discord.close();
    }
  });

  it("opens as many shards as Discord recommends in one process, and answers every server", async () => {
    world = await startWorld({
      discord: { shards: 2 },
      // Commands registered for every server, not one.
      env: { DISCORD_GUILD_ID: "" },
      llm: { seed: 31, latencyMs: 20 },
    });
    const { discord } = world;
    expect(discord.stats().shards.sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const other = guildOnOtherShard(discord);
    await startNovel(discord, world.author.id, discord.channelId, 0);
    await startNovel(discord, world.author.id, other.channelId, 1);
    await discord.waitFor(() => delivered(discord).length === 2, 120_000);
    const guilds = discord.threads().map((t) => t.guild_id);
    expect(new Set(guilds)).toEqual(new Set([discord.guildId, other.guildId]));
    expect(discord.stats().rejected).toEqual([]);
  }, 180_000);
});

describe("gateway shards in processes of their own (FOLIO_SHARDS)", () => {
  let discord: FakeDiscord;
  let llm: FakeLlm;
  const children: ChildProcess[] = [];
  const output: string[] = [];

  afterEach(async () => {
    for (const child of children) child.kill("SIGKILL");
    await discord?.close();
    await llm?.close();
  });

  it("runs each host's shards under a ShardingManager, one host also working, and drains on SIGTERM", async () => {
    discord = await startFakeDiscord({ shards: 2 });
    llm = await startFakeLlm({ seed: 32, latencyMs: 20 });
    const dir = tempDir("folio-shards-");
    const host = (env: Record<string, string>) => {
      const child = botProcess(
        discord,
        dir,
        {
          ...storeEnv(join(dir, "folio.db")),
          FOLIO_LEASE_MS: "4000",
          FOLIO_POLL_MS: "200",
          FOLIO_SHARDS: "2",
          LOG_LEVEL: "info",
          ...env,
        },
        ["ignore", "pipe", "pipe"],
      );
      for (const stream of [child.stdout, child.stderr])
        stream?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
      children.push(child);
      return child;
    };
    // Host A runs shard 0 and the scheduler; host B runs shard 1 and only manages it.
    const a = host({ FOLIO_SHARD_IDS: "0", OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key" });
    const b = host({ FOLIO_SHARD_IDS: "1", FOLIO_ROLE: "gateway" });
    await discord.waitFor(
      () => discord.stats().shards.length === 2 && discord.commands("global").length === 1,
      60_000,
    );
    expect(discord.stats().shards.sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const author = discord.addMember({ username: "author" });
    const other = guildOnOtherShard(discord);
    await startNovel(discord, author.id, discord.channelId, 0);
    await startNovel(discord, author.id, other.channelId, 1);
    await discord.waitFor(() => delivered(discord).length === 2, 120_000);
    expect(new Set(discord.threads().map((t) => t.guild_id))).toEqual(
      new Set([discord.guildId, other.guildId]),
    );
    // The commands were registered once, by the host of shard 0.
    expect(discord.calls.filter((c) => c.method === "PUT" && c.path.includes("/commands"))).toHaveLength(1);
    // Each shard ran in a child process of its host's manager.
    const log = output.join("");
    expect(log).toMatch(/"shard":0,"of":2,"msg":"starting gateway shard"/);
    expect(log).toMatch(/"shard":1,"of":2,"msg":"starting gateway shard"/);
    // SIGTERM: every process, shards included, drains and exits cleanly.
    for (const child of [a, b]) child.kill("SIGTERM");
    const codes = await Promise.all([a, b].map(async (child) => (await once(child, "exit"))[0]));
    expect(codes).toEqual([0, 0]);
    await discord.waitFor(() => discord.stats().shards.length === 0, 10_000);
  }, 240_000);
});
