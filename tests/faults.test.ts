import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls, projects, scenes } from "../db/schema";
import { cancel, pause, resume } from "../src/pipeline/actions";
import { getProject } from "../src/pipeline/store";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

describe("fault tolerance", () => {
  it("completes a novel through 500s, 429s with Retry-After, hangs and truncated JSON", async () => {
    const { fake, engine } = await world.start(
      {
        seed: 3,
        faults: {
          rate500: 0.2,
          rate429: 0.1,
          retryAfterSeconds: 0.1,
          rateHang: 0.05,
          rateTruncatedJson: 0.05,
        },
      },
      {
        FOLIO_LLM_IDLE_TIMEOUT_MS: "800",
        FOLIO_LLM_MAX_RETRIES: "6",
        FOLIO_UNIT_ATTEMPTS: "5",
      },
    );
    const id = await engine.create({
      premise: "A ferryman who cannot lie carries a smuggler across a border river.",
      scenes: 30,
      words: 15_000,
      autoApprove: true,
    });
    await engine.scheduler.start();
    const end = await eventually(() => engine.ended(id), 240_000, 50);
    expect(end.type).toBe("done");
    const drafted = await engine.db.select().from(scenes).where(eq(scenes.projectId, id));
    expect(drafted).toHaveLength(30);
    expect(drafted.every((s) => s.text && s.words > 0)).toBe(true);
    expect(engine.delivered.has(id)).toBe(true);
    // Every fault the endpoint injected shows up in llm_calls as the attempt it spoiled.
    const recorded = new Set(
      (await engine.db.select({ o: llmCalls.outcome }).from(llmCalls)).map((r) => r.o),
    );
    const injected = new Set(fake.log.map((e) => e.outcome));
    const recordedAs: Record<string, string> = {
      "500": "http_500",
      "429": "http_429",
      hang: "timeout",
      truncated: "invalid_json",
    };
    const seen = Object.keys(recordedAs).filter((fault) => injected.has(fault as never));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const fault of seen) expect(recorded, fault).toContain(recordedAs[fault]);
  }, 300_000);

  it("puts a project whose calls always fail in needs attention while another one finishes", async () => {
    const { engine } = await world.start(
      { seed: 4, faults: { failWhenPromptIncludes: ["DOOMED-PREMISE"] } },
      { FOLIO_LLM_MAX_RETRIES: "1", FOLIO_MAX_ACTIVE_PROJECTS: "2" },
    );
    const doomed = await engine.create({
      premise: "DOOMED-PREMISE: a story the endpoint refuses to hear.",
      scenes: 4,
      words: 4000,
      autoApprove: true,
    });
    const healthy = await engine.create({
      premise: "A beekeeper inherits a hive that remembers its old keeper.",
      scenes: 6,
      words: 6000,
      autoApprove: true,
    });
    await engine.scheduler.start();
    const doomedEnd = await eventually(() => engine.ended(doomed), 60_000);
    const healthyEnd = await eventually(() => engine.ended(healthy), 60_000);
    expect(doomedEnd.type).toBe("needs_attention");
    expect(healthyEnd.type).toBe("done");
    const row = (await getProject(engine.db, doomed))!;
    expect(row.status).toBe("needs_attention");
    expect(row.attention).toMatch(/High Concept failed: The model endpoint failed \(500\)/);
    expect(row.leaseOwner).toBeNull();
    expect(engine.events.filter((e) => e.type === "unit_retry" && e.projectId === doomed).length).toBe(2);
    expect((await getProject(engine.db, healthy))!.status).toBe("done");
  }, 120_000);

  it("never lets one project's failing scene call cancel another project's calls", async () => {
    const { fake, engine } = await world.start(
      {
        seed: 5,
        latencyMs: 30,
        faults: { failWhenPromptIncludes: ["Draft scene 3 of 8:"] },
      },
      { FOLIO_LLM_MAX_RETRIES: "0", FOLIO_MAX_ACTIVE_PROJECTS: "2" },
    );
    const failing = await engine.create({
      premise: "An archivist keeps a ledger of every lie told in her town.",
      scenes: 8,
      words: 8000,
      autoApprove: true,
    });
    const other = await engine.create({
      premise: "A night-train conductor collects passengers' forgotten dreams.",
      scenes: 9,
      words: 9000,
      autoApprove: true,
    });
    await engine.scheduler.start();
    expect((await eventually(() => engine.ended(failing), 60_000)).type).toBe("needs_attention");
    expect((await eventually(() => engine.ended(other), 60_000)).type).toBe("done");

    const failingScenes = await engine.db
      .select()
      .from(scenes)
      .where(eq(scenes.projectId, failing))
      .orderBy(scenes.number);
    expect(failingScenes.filter((s) => s.text).map((s) => s.number)).toEqual([1, 2]);
    const otherOutcomes = await engine.db
      .select({ o: llmCalls.outcome })
      .from(llmCalls)
      .where(eq(llmCalls.projectId, other));
    expect(otherOutcomes.every((r) => r.o === "ok")).toBe(true);
    expect(
      (await engine.db.select().from(scenes).where(eq(scenes.projectId, other))).every((s) => s.text),
    ).toBe(true);

    // The other project's calls were in flight while the failing scene was being refused.
    const failures = fake.log.filter((e) => e.outcome === "500");
    const overlapping = fake.log.filter(
      (e) =>
        e.outcome === "ok" && failures.some((f) => e.at < f.at + f.durationMs && f.at < e.at + e.durationMs),
    );
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(overlapping.length).toBeGreaterThan(0);
    expect(
      (await engine.db.select().from(projects)).every((p) => p.leaseOwner === null || p.status === "running"),
    ).toBe(true);
  }, 120_000);
});

describe("the hand-over of a finished book", () => {
  const NOVEL = {
    premise: "A cartographer's apprentice inks a town that is not there yet.",
    scenes: 4,
    words: 3_200,
    autoApprove: true,
  };

  it("leaves a pause made during the hand-over standing; resumed, the project finishes", async () => {
    let handovers = 0;
    const { engine } = await world.start({ seed: 31 }, {}, async (project) => {
      handovers += 1;
      // Another process pauses the project while this one is posting the book.
      if (handovers === 1) expect((await pause(engine.db, project.id)).ok).toBe(true);
    });
    const id = await engine.create(NOVEL);
    await eventually(
      async () => handovers === 1 && (await getProject(engine.db, id))?.leaseOwner === null,
      120_000,
    );
    expect(await getProject(engine.db, id)).toMatchObject({ status: "paused", stage: "deliver" });
    expect(engine.events.some((e) => e.type === "done")).toBe(false);
    expect((await resume(engine.db, id)).ok).toBe(true);
    engine.scheduler.wake();
    await eventually(async () => (await getProject(engine.db, id))?.status === "done", 30_000);
    expect(handovers).toBe(2);
  }, 150_000);

  it("aborts the hand-over on a cancellation and leaves the project cancelled", async () => {
    let sawAbort = false;
    const { engine } = await world.start({ seed: 32 }, {}, async (project, signal) => {
      expect((await cancel(engine.db, project.id)).ok).toBe(true);
      await eventually(() => signal.aborted, 10_000, 20);
      sawAbort = true;
      signal.throwIfAborted();
    });
    const id = await engine.create(NOVEL);
    await eventually(async () => sawAbort && (await getProject(engine.db, id))?.leaseOwner === null, 120_000);
    expect((await getProject(engine.db, id))?.status).toBe("cancelled");
    expect(engine.events.some((e) => e.type === "done")).toBe(false);
  }, 150_000);
});
