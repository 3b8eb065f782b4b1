import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeDiscord, startFakeDiscord } from "./fakes/discord-server";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { eventually, peekRows, tempDir } from "./helpers/cli";
import { botProcess } from "./helpers/discord";
import { type Cluster, startCluster } from "./helpers/postgres";

const NOVELS = 12;
const LEASE_MS = 4_000;

/**
 * One gateway process and two worker processes sharing one database (the SQLite file, or PostgreSQL
 * as processes on several hosts would): the gateway answers Discord and makes no model calls; the
 * workers write and post. A worker killed mid-scene hands its novels on.
 */
describe.each(["SQLite", "Postgres"] as const)("process roles: a gateway and two workers on %s", (store) => {
  let discord: FakeDiscord;
  let llm: FakeLlm;
  const children: ChildProcess[] = [];
  const warnings: string[] = [];
  const dir = tempDir("folio-roles-");
  const dbPath = join(dir, "folio.db");
  let cluster: Cluster | undefined;
  let database: Record<string, string> = { FOLIO_DB_PATH: dbPath };

  beforeAll(() => {
    if (store !== "Postgres") return;
    cluster = startCluster();
    database = { DATABASE_URL: cluster.createDatabase("roles") };
  });

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await discord?.close();
    await llm?.close();
    cluster?.stop();
  });

  const startProcess = (role: "gateway" | "worker") => {
    const child = botProcess(
      discord,
      dir,
      {
        FOLIO_ROLE: role,
        DISCORD_GUILD_ID: discord.guildId,
        // The gateway is given no model endpoint at all: it must not need one.
        ...(role === "worker" ? { OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: "test-key" } : {}),
        ...database,
        FOLIO_LEASE_MS: String(LEASE_MS),
        FOLIO_POLL_MS: "200",
        // Each worker takes half the novels: with the default (200) the first to look would take all.
        FOLIO_MAX_ACTIVE_PROJECTS: String(NOVELS / 2),
        LOG_LEVEL: "warn",
      },
      ["ignore", "inherit", "pipe"],
    );
    // Warnings are shown, and kept: nothing the bot means to post may fail to reach a thread.
    child.stderr?.on("data", (chunk: Buffer) => {
      warnings.push(chunk.toString());
      process.stderr.write(chunk);
    });
    children.push(child);
    return child;
  };

  const rows = <T>(query: string) => (cluster ? cluster.rows<T>("roles", query) : peekRows<T>(dbPath, query));

  it("delivers twelve novels, each scene written once but the one in flight when a worker dies", async () => {
    discord = await startFakeDiscord();
    llm = await startFakeLlm({ seed: 97, latencyMs: 60 });
    startProcess("gateway");
    await discord.waitFor(() => discord.commands(discord.guildId).length === 1, 30_000);
    const [first] = [startProcess("worker"), startProcess("worker")];
    for (let k = 0; k < NOVELS; k++) {
      const author = discord.addMember({ username: `author${k}` });
      const start = await discord.sendCommand({
        user: author.id,
        command: "novel",
        subcommand: "start",
        options: {
          premise: `NOVEL-${k}: a signal-box keeper logs trains that the timetable says were cancelled.`,
          scenes: 4,
          words: 3200,
          auto_approve: true,
        },
      });
      await start.waitForAck();
    }
    // Both workers at work, and some scenes written.
    const owners = () =>
      rows<{ id: number; owner: string | null }>("select id, lease_owner as owner from projects order by id");
    const workerOf = (owner: string | null) => owner?.split(":")[1];
    await eventually(
      () => {
        const pids = new Set(
          owners()
            .map((p) => workerOf(p.owner))
            .filter(Boolean),
        );
        const scenes =
          rows<{ n: number }>("select count(*) as n from scenes where text is not null")[0]?.n ?? 0;
        return pids.size === 2 && scenes >= 6;
      },
      120_000,
      20,
    );
    // The first worker dies mid-scene.
    const held = owners()
      .filter((p) => workerOf(p.owner) === String(first.pid))
      .map((p) => p.id);
    expect(held.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    first.kill("SIGKILL");
    // The other worker has its novels within the lease time.
    await eventually(
      () => {
        const now = owners();
        return held.every((id) => {
          const owner = now.find((p) => p.id === id)?.owner;
          return owner === null || (owner !== undefined && workerOf(owner) !== String(first.pid));
        });
      },
      LEASE_MS,
      20,
    );
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS);

    const delivered = (threadId: string) =>
      discord.messages(threadId).filter((m) => m.attachments.some((a) => a.filename.endsWith(".docx")));
    await discord.waitFor(
      () => discord.threads().length === NOVELS && discord.threads().every((t) => delivered(t.id).length > 0),
      240_000,
    );
    // Each book delivered once, and every thread the surviving worker ran throughout got its stage
    // messages (a notice due in the moment a worker dies is not sent again).
    const threadOf = new Map(
      rows<{ projectId: number; threadId: string }>(
        'select project_id as "projectId", thread_id as "threadId" from discord_threads',
      ).map((r) => [r.threadId, r.projectId]),
    );
    for (const thread of discord.threads()) {
      expect(delivered(thread.id)).toHaveLength(1);
      if (held.includes(threadOf.get(thread.id)!)) continue;
      const titles = discord
        .messages(thread.id)
        .map((m) => String((m.embeds[0] as { title?: string })?.title));
      expect(titles).toEqual(
        expect.arrayContaining(["✅ High Concept", "✅ Master Outline", "Scene Drafting — done"]),
      );
    }
    expect(warnings.join("")).not.toMatch(/could not update the project's thread/);
    // Every scene draft was asked for once, but for at most one scene in flight per novel the dead worker held.
    const drafts = new Map<string, number>();
    for (const entry of llm.log) {
      const scene = /^Draft scene (\d+) of/.exec(entry.firstLine)?.[1];
      const novel = /NOVEL-(\d+):/.exec(entry.prompt)?.[1];
      if (!scene || novel === undefined || entry.outcome !== "ok") continue;
      const key = `${novel}/${scene}`;
      drafts.set(key, (drafts.get(key) ?? 0) + 1);
    }
    expect(drafts.size).toBe(NOVELS * 4);
    const again = [...drafts.values()].filter((n) => n > 1);
    expect(again.length).toBeLessThanOrEqual(held.length);
    expect(Math.max(...drafts.values())).toBeLessThanOrEqual(2);
    // SIGTERM drains the gateway and the worker: both leave cleanly, and no lease is left held.
    const alive = children.filter((c) => c !== first);
    const exits = alive.map((c) => new Promise<number | null>((r) => c.once("exit", (code) => r(code))));
    for (const child of alive) child.kill("SIGTERM");
    expect(await Promise.all(exits)).toEqual([0, 0]);
    expect(rows("select id from projects where lease_owner is not null")).toEqual([]);
  }, 360_000);
});
