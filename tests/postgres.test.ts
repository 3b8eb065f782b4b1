import { and, count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDatabase, notifyWork, openDatabase } from "../db/client";
import { llmCalls, projects, sceneVersions } from "../db/schema";
import { createProject, parseNewProject } from "../src/pipeline/actions";
import { getProject } from "../src/pipeline/store";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { eventually } from "./helpers/cli";
import { startTestEngine, type TestEngine } from "./helpers/engine";
import { type Cluster, startCluster } from "./helpers/postgres";

const premise = (k: number) =>
  `PG-${k}: a lock-keeper on a drained canal keeps the water's hours in a ledger.`;

/**
 * The store on a real PostgreSQL (`DATABASE_URL`): the same engine, queries and guarantees as on
 * SQLite. Claims skip rows another claim holds; a worker hears of new work through LISTEN/NOTIFY.
 */
describe("Postgres as the store", () => {
  let cluster: Cluster;
  let llm: FakeLlm;
  const engines: TestEngine[] = [];
  beforeAll(async () => {
    cluster = startCluster();
    llm = await startFakeLlm({ seed: 61, latencyMs: 15 });
  });
  afterAll(async () => {
    for (const engine of engines) await engine.close().catch(() => {});
    await llm?.close();
    cluster?.stop();
  });
  const engineOn = (url: string, scheduler = {}) => {
    const engine = startTestEngine(llm.url, { DATABASE_URL: url }, { pollMs: 100, ...scheduler });
    engines.push(engine);
    return engine;
  };

  it("writes a whole novel, each scene paid for once, and delivers it", async () => {
    const url = cluster.createDatabase("novel");
    const engine = engineOn(url);
    const id = await engine.create({ premise: premise(0), scenes: 4, words: 3200, autoApprove: true });
    await engine.scheduler.start();
    await eventually(async () => (await getProject(engine.db, id))?.status === "done", 120_000);
    expect(engine.delivered.get(id)?.length).toBeGreaterThan(1000);
    // Every scene drafted once: one drafting version and one drafting call per scene.
    const drafts = await engine.db
      .select({ n: count() })
      .from(sceneVersions)
      .where(and(eq(sceneVersions.projectId, id), eq(sceneVersions.stage, "drafting")));
    expect(drafts[0]?.n).toBe(4);
    // The rows read back as SQLite gives them: numbers, booleans, parsed JSON.
    const project = (await getProject(engine.db, id))!;
    expect(project.autoApprove).toBe(true);
    expect(typeof project.createdAt).toBe("number");
    expect(project.createdAt).toBeGreaterThan(Date.now() - 600_000);
    const [cost] = await engine.db
      .select({ usd: sql<number>`sum(${llmCalls.costUsd})`.mapWith(Number) })
      .from(llmCalls)
      .where(eq(llmCalls.projectId, id));
    expect(cost?.usd).toBeGreaterThan(0);
  }, 180_000);

  it("lets two schedulers share the work, each project claimed by one at a time", async () => {
    const url = cluster.createDatabase("shared");
    // Three projects at a time each: however late the second starts, the first cannot hold all six.
    const [a, b] = [engineOn(url, { maxActiveProjects: 3 }), engineOn(url, { maxActiveProjects: 3 })];
    const ids: number[] = [];
    for (let k = 1; k <= 6; k++)
      ids.push(await a.create({ premise: premise(k), scenes: 3, words: 2400, autoApprove: true }));
    await Promise.all([a.scheduler.start(), b.scheduler.start()]);
    const owners = new Map<number, Set<string>>();
    await eventually(
      async () => {
        const rows = await a.db
          .select({ id: projects.id, owner: projects.leaseOwner, status: projects.status })
          .from(projects);
        for (const row of rows)
          if (row.owner) owners.set(row.id, (owners.get(row.id) ?? new Set()).add(row.owner));
        return rows.every((r) => r.status === "done");
      },
      180_000,
      20,
    );
    // Both took part, and no scene was drafted twice.
    const held = new Set([...owners.values()].flatMap((o) => [...o]));
    expect(held).toEqual(new Set([a.scheduler.owner, b.scheduler.owner]));
    const versions = await a.db
      .select({ project: sceneVersions.projectId, scene: sceneVersions.sceneNumber, n: count() })
      .from(sceneVersions)
      .where(eq(sceneVersions.stage, "drafting"))
      .groupBy(sceneVersions.projectId, sceneVersions.sceneNumber);
    expect(versions).toHaveLength(6 * 3);
    expect(versions.every((v) => v.n === 1)).toBe(true);
  }, 240_000);

  it("wakes a worker through NOTIFY, long before its next poll", async () => {
    const url = cluster.createDatabase("notify");
    const worker = engineOn(url, { pollMs: 60_000 });
    await worker.scheduler.start();
    // Another process makes a project and says so.
    const other = openDatabase(url);
    const parsed = parseNewProject({ premise: premise(9), scenes: 3, words: 2400, autoApprove: true });
    if (!parsed.ok) throw new Error(parsed.message);
    const project = await createProject(other, parsed.value, { ownerId: "cli" });
    await notifyWork(other);
    // Claimed within 20 s: its next poll would have been a minute after it started.
    await eventually(
      async () => (await getProject(worker.db, project.id))?.leaseOwner === worker.scheduler.owner,
      20_000,
      20,
    );
    await closeDatabase(other);
  }, 60_000);
});
