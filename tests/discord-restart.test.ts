import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type FakeDiscord, startFakeDiscord } from "./fakes/discord-server";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { eventually, peekRows, ROOT, storeEnv, tempDir } from "./helpers/cli";
import { titleOf, waitForMessage } from "./helpers/discord";

/** `npm start`'s process killed with SIGKILL mid-drafting, then started again. */
describe("Discord bot restart", () => {
  let discord: FakeDiscord;
  let llm: FakeLlm;
  const children: ChildProcess[] = [];
  const dir = tempDir("folio-restart-");
  const dbPath = join(dir, "folio.db");

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await discord?.close();
    await llm?.close();
  });

  const startBotProcess = () => {
    const child = spawn(process.execPath, [join(ROOT, "bin/bot.js")], {
      cwd: dir,
      env: {
        ...process.env,
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_GUILD_ID: discord.guildId,
        DISCORD_API_URL: discord.apiUrl,
        OPENAI_BASE_URL: llm.url,
        OPENAI_API_KEY: "test-key",
        ...storeEnv(dbPath),
        FOLIO_LEASE_MS: "1500",
        FOLIO_POLL_MS: "200",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.push(child);
    return child;
  };

  const drafted = () =>
    peekRows<{ n: number }>(dbPath, "select count(*) as n from scenes where text is not null")[0]?.n ?? 0;

  it("resumes the novel, keeps editing the same progress message and delivers the .docx", async () => {
    discord = await startFakeDiscord();
    llm = await startFakeLlm({ seed: 5, latencyMs: 80 });
    const author = discord.addMember({ username: "author" });

    const first = startBotProcess();
    await discord.waitFor(() => discord.commands(discord.guildId).length === 1, 30_000);
    const start = await discord.sendCommand({
      user: author.id,
      command: "novel",
      subcommand: "start",
      options: {
        premise: "A beekeeper inherits a hive that remembers its old keeper.",
        scenes: 10,
        words: 10_000,
        auto_approve: true,
      },
    });
    await start.waitForAck();
    const threadId = await discord.waitFor(() => discord.threads()[0]?.id);
    const progress = await waitForMessage(
      discord,
      threadId,
      (m) => titleOf(m).startsWith("Scene Drafting"),
      30_000,
    );
    await eventually(() => drafted() >= 3, 30_000, 20);
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    const before = drafted();
    expect(before).toBeLessThan(10);

    const second = startBotProcess();
    const delivery = await waitForMessage(
      discord,
      threadId,
      (m) => m.attachments.some((a) => a.filename.endsWith(".docx")),
      90_000,
    );
    expect(delivery.content).toBe(`<@${author.id}> your novel is ready.`);
    expect(
      discord
        .messages(threadId)
        .filter((m) => titleOf(m).startsWith("Scene Drafting"))
        .map((m) => m.id),
    ).toEqual([progress.id]);
    await discord.waitFor(
      () =>
        titleOf(discord.messages(threadId).find((m) => m.id === progress.id)!) === "Scene Drafting — done",
      10_000,
    );
    expect(discord.stats().identifies).toBe(2);
    // The second start found /novel up to date and did not register it again.
    expect(discord.calls.filter((c) => c.method === "PUT" && c.path.includes("/commands"))).toHaveLength(1);
    const requests = new Map<number, number>();
    for (const e of llm.log) {
      const m = /^Draft scene (\d+) of/.exec(e.firstLine);
      if (m) requests.set(Number(m[1]), (requests.get(Number(m[1])) ?? 0) + 1);
    }
    expect(requests.size).toBe(10);
    expect([...requests.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
    for (let scene = 1; scene <= before; scene++) expect(requests.get(scene)).toBe(1);

    // Graceful shutdown: SIGTERM ends the process cleanly with every lease released.
    const exited = new Promise<number | null>((r) => second.once("exit", (code) => r(code)));
    second.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(peekRows(dbPath, "select lease_owner from projects")).toEqual([{ lease_owner: null }]);
  }, 180_000);
});
