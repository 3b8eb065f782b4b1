import { hostname } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../db/client";
import { projects } from "../db/schema";
import { ConfigError, loadConfig } from "../src/config";
import { attachThread, dropUnthreadedProjects } from "../src/discord/threads";
import {
  abandonSetup,
  approve,
  cancel,
  claimNewProject,
  createProject,
  finishSetup,
  parseNewProject,
  pause,
  resume,
  retry,
  reviseOutline,
} from "../src/pipeline/actions";
import { workersElsewhere } from "../src/pipeline/scheduler";
import { getProject } from "../src/pipeline/store";
import { distributeWords, groupIntoChapters } from "../stages/outline";
import { tempDir } from "./helpers/cli";
import { sharedTestDatabase } from "./helpers/postgres";

describe("outline normalisation", () => {
  it("splits the book's words exactly, within half to double the average per scene", () => {
    const budgets = distributeWords([100, 5000, -3, Number.NaN, 1200, 1100], 6000);
    expect(budgets.reduce((a, b) => a + b, 0)).toBe(6000);
    expect(Math.min(...budgets)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...budgets)).toBeLessThanOrEqual(2100);
  });

  it("makes chapter numbers consecutive and non-decreasing", () => {
    expect(groupIntoChapters([2, 2, 5, 5, 4, 9])).toEqual([1, 1, 2, 2, 2, 3]);
  });

  it("regroups when the model put everything in one chapter", () => {
    const grouped = groupIntoChapters(Array(12).fill(1));
    expect(grouped).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  });
});

describe("configuration", () => {
  it("applies defaults and rejects bad values with the variable's name", () => {
    const config = loadConfig({ OPENAI_API_KEY: "k" }, { dotenv: false });
    expect(config.FOLIO_DB_PATH).toBe("./data/folio.db");
    expect(config.FOLIO_REFINE_CONCURRENCY).toBe(4);
    expect(() => loadConfig({ FOLIO_MAX_ACTIVE_PROJECTS: "0" }, { dotenv: false })).toThrow(ConfigError);
    expect(() => loadConfig({ OPENAI_BASE_URL: "not a url" }, { dotenv: false })).toThrow(/OPENAI_BASE_URL/);
  });
});

describe("project actions", () => {
  const setup = async () => {
    const db = openDatabase(sharedTestDatabase() ?? join(tempDir(), "folio.db"));
    const parsed = parseNewProject({
      premise: "A clockmaker hides a second inside every clock she repairs.",
    });
    if (!parsed.ok) throw new Error(parsed.message);
    const project = await createProject(db, parsed.value, { ownerId: "u1" });
    return { db, id: project.id };
  };

  it("approves a waiting gate once; a second approval is refused and changes nothing", async () => {
    const { db, id } = await setup();
    await db.update(projects).set({ status: "waiting", stage: "outline_gate" }).where(eq(projects.id, id));
    const first = await approve(db, id);
    const second = await approve(db, id);
    expect(first.ok).toBe(true);
    expect(second).toEqual({ ok: false, message: "Nothing waits for approval: the project is running." });
    expect(await getProject(db, id)).toMatchObject({ status: "running", stage: "drafting" });
    await closeDatabase(db);
  });

  it("revises only at the outline gate and keeps the notes for the outline stage", async () => {
    const { db, id } = await setup();
    expect((await reviseOutline(db, id, "More storms")).ok).toBe(false);
    await db.update(projects).set({ status: "waiting", stage: "outline_gate" }).where(eq(projects.id, id));
    expect((await reviseOutline(db, id, "   ")).ok).toBe(false);
    expect((await reviseOutline(db, id, "More storms")).ok).toBe(true);
    expect(await getProject(db, id)).toMatchObject({
      status: "running",
      stage: "outline",
      revisionNotes: "More storms",
    });
    await closeDatabase(db);
  });

  it("pauses, resumes, retries and cancels only from the states where that makes sense", async () => {
    const { db, id } = await setup();
    expect((await resume(db, id)).ok).toBe(false);
    expect((await pause(db, id)).ok).toBe(true);
    expect((await pause(db, id)).ok).toBe(false);
    expect((await resume(db, id)).ok).toBe(true);
    expect(await retry(db, id)).toEqual({ ok: false, message: "Nothing failed: the project is running." });
    expect((await cancel(db, id)).ok).toBe(true);
    expect(await cancel(db, id)).toEqual({ ok: false, message: "The project is already cancelled." });
    expect(await approve(db, 999)).toEqual({ ok: false, message: "There is no project 999." });
    await closeDatabase(db);
  });
});

describe("a new Discord project's setup", () => {
  it("is held from the scheduler until its thread is attached, and dropped if its setup died", async () => {
    const db = openDatabase(sharedTestDatabase() ?? join(tempDir(), "folio.db"));
    const parsed = parseNewProject({ premise: "A lock-keeper hears the canal counting the boats." });
    if (!parsed.ok) throw new Error(parsed.message);
    const owner = { ownerId: "u1", host: "discord" as const };
    const live = `${hostname()}:${process.pid}:setup`;
    const dead = `${hostname()}:999999999:setup`;
    const kept = await claimNewProject(db, parsed.value, owner, 5, live);
    const orphan = await claimNewProject(db, parsed.value, owner, 5, dead);
    const failed = await claimNewProject(db, parsed.value, owner, 5, live);
    if (!kept.ok || !orphan.ok || !failed.ok) throw new Error("refused");
    expect(kept.project.leaseOwner).toBe(live);
    // The limit counts the claimed rows: a fourth start over a limit of three is refused.
    expect(await claimNewProject(db, parsed.value, owner, 3, live)).toMatchObject({ ok: false });
    await abandonSetup(db, failed.project.id, live);
    // The live setup is still opening its thread; the dead one's never will be.
    expect(await dropUnthreadedProjects(db)).toEqual([orphan.project.id]);
    await finishSetup(db, kept.project.id, live, async (tx) => {
      await attachThread(tx, kept.project.id, { guildId: "g", channelId: "c", threadId: "t" });
    });
    expect(await getProject(db, kept.project.id)).toMatchObject({ leaseOwner: null, status: "running" });
    expect(await db.select({ id: projects.id }).from(projects)).toEqual([{ id: kept.project.id }]);
    await closeDatabase(db);
  });
});

describe("a gateway's view of the workers' queue", () => {
  it("says a waiting project's place from its row, and where an approved one would stand", async () => {
    const db = openDatabase(sharedTestDatabase() ?? join(tempDir(), "folio.db"));
    const parsed = parseNewProject({ premise: "A ferry pilot logs crossings that nobody booked." });
    if (!parsed.ok) throw new Error(parsed.message);
    const created = [];
    for (let i = 0; i < 3; i++) created.push(await createProject(db, parsed.value, { ownerId: "u1" }));
    const [first, second, third] = created;
    const work = workersElsewhere(db);
    // Owned as a lease owner is named, so a dead gateway's setup claims are let go.
    expect(work.owner).toMatch(new RegExp(`^${hostname()}:${process.pid}:`));
    // Nothing written down by a worker: nothing to say, and an approval would start at once.
    expect(await work.queued(first!)).toBeUndefined();
    expect(await work.queued(first!, true)).toBeUndefined();
    // A worker wrote two projects' places.
    await db.update(projects).set({ queueAhead: 3 }).where(eq(projects.id, second!.id));
    await db.update(projects).set({ queueAhead: 0 }).where(eq(projects.id, third!.id));
    expect(await work.queued(second!)).toEqual({ ahead: 3, etaMs: null });
    expect(await work.queued(third!)).toEqual({ ahead: 0, etaMs: null });
    // One asking now goes behind the two the workers say are waiting.
    expect(await work.queued(first!)).toBeUndefined();
    expect(await work.queued(first!, true)).toEqual({ ahead: 2, etaMs: null });
    await closeDatabase(db);
  });
});
