import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type FakeDiscord, startFakeDiscord } from "./fakes/discord-server";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { ROOT, storeEnv, tempDir } from "./helpers/cli";
import { busiestSpan } from "./helpers/discord";

/**
 * Enough for three processes to want more than Discord's global limit together: without the proxy (each
 * process posting straight to Discord, each within its own budget) this many novels met the global limit
 * within seconds (8 global 429s in a run here; 12 with only 8 novels).
 */
const NOVELS = 16;
/** The proxy's own budget: half the global limit, as one bot alone keeps (`src/rest-proxy.ts`). */
const PROXY_PER_SECOND = 25;

/**
 * A gateway and two workers post with one token through one REST proxy: however busy all three are
 * together, Discord's global limit is never met, because one process keeps it for all of them.
 */
describe("Discord REST proxy", () => {
  let discord: FakeDiscord;
  let llm: FakeLlm;
  const children: ChildProcess[] = [];
  const dir = tempDir("folio-proxy-");

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await discord?.close();
    await llm?.close();
  });

  const run = (script: string, env: Record<string, string>) => {
    const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...inherited } = process.env;
    const child = spawn(process.execPath, [join(ROOT, script)], {
      cwd: dir,
      env: { ...inherited, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    return child;
  };

  it("keeps three busy processes under Discord's global limit together", async () => {
    discord = await startFakeDiscord();
    llm = await startFakeLlm({ seed: 98, latencyMs: 5 });
    const proxy = run("bin/rest-proxy.js", { DISCORD_API_URL: discord.apiUrl, FOLIO_REST_PROXY_PORT: "0" });
    const [line] = (await once(proxy.stdout!, "data")) as [Buffer];
    const port = /listening on (\d+)/.exec(line.toString())?.[1];
    expect(port).toBeDefined();
    const bot = (role: "gateway" | "worker") => {
      const child = run("bin/bot.js", {
        FOLIO_ROLE: role,
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_GUILD_ID: discord.guildId,
        DISCORD_REST_PROXY: `http://127.0.0.1:${port}`,
        // Nothing answers here: every request the bot makes must go through the proxy.
        DISCORD_API_URL: "http://127.0.0.1:9/api",
        ...(role === "worker" ? { OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key" } : {}),
        ...storeEnv(join(dir, "folio.db")),
        FOLIO_POLL_MS: "100",
        FOLIO_MAX_ACTIVE_PROJECTS: String(NOVELS / 2),
        FOLIO_LLM_CONCURRENCY: "16",
      });
      child.stdout?.resume();
      return child;
    };
    bot("gateway");
    await discord.waitFor(() => discord.commands(discord.guildId).length === 1, 30_000);
    bot("worker");
    bot("worker");
    for (let k = 0; k < NOVELS; k++) {
      const author = discord.addMember({ username: `writer${k}` });
      const start = await discord.sendCommand({
        user: author.id,
        command: "novel",
        subcommand: "start",
        options: {
          premise: `Writer ${k}: a tide-clock maker finds one clock that runs on the tides of another sea.`,
          scenes: 3,
          words: 2400,
          auto_approve: true,
        },
      });
      await start.waitForAck();
    }
    const delivered = (threadId: string) =>
      discord.messages(threadId).some((m) => m.attachments.some((a) => a.filename.endsWith(".docx")));
    await discord.waitFor(
      () => discord.threads().length === NOVELS && discord.threads().every((t) => delivered(t.id)),
      240_000,
    );
    // Hundreds of requests from three processes, and not one global 429.
    expect(discord.calls.length).toBeGreaterThan(NOVELS * 10);
    expect(discord.stats().globalLimited).toBe(0);
    // And the three were busy: together they kept the proxy at its budget for seconds on end, 80% of it
    // over five seconds at least (interaction replies and webhooks are outside the global limit, as at
    // Discord). Two novels, with the same three processes, come nowhere near that.
    const counted = discord.calls.filter((c) => !/^\/(interactions|webhooks)\//.test(c.path));
    expect(
      busiestSpan(
        counted.map((c) => c.at),
        5,
      ),
    ).toBeGreaterThanOrEqual(4 * PROXY_PER_SECOND);
    // However far behind posting ran, each thread's messages came in order, the book last of them.
    for (const thread of discord.threads()) {
      const titles = discord
        .messages(thread.id)
        .map((m) => String((m.embeds[0] as { title?: string })?.title));
      const book = titles.findIndex((t) => t.startsWith("📚"));
      expect(titles.slice(0, book)).toEqual(
        expect.arrayContaining(["✅ High Concept", "✅ Output Validation"]),
      );
      expect(titles.slice(book).filter((t) => t.startsWith("✅"))).toEqual([]);
    }
  }, 300_000);
});
