import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { revisionResults, scenes, sceneVersions } from "../db/schema";
import { pause } from "../src/pipeline/actions";
import { checkRewrite } from "../src/pipeline/guards";
import { renderExport } from "../src/pipeline/manuscript";
import { getProject } from "../src/pipeline/store";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";
import { readDocxWithPandoc } from "./helpers/pandoc";

const prose = (words: number) =>
  `${Array.from({ length: words }, (_, i) => (i % 12 === 11 ? "harbour." : i % 12 === 0 ? "The" : "lamp")).join(" ")}.`.replace(
    "..",
    ".",
  );

describe("rewrite guard", () => {
  const before = prose(600);
  it("accepts a revision of about the same length that ends a sentence", () => {
    expect(checkRewrite(before, prose(640))).toEqual({ ok: true });
  });
  it("knows each pass's direction: a deepening pass may not come back shorter, others keep 95%", () => {
    expect(checkRewrite(before, prose(580))).toEqual({ ok: true });
    expect(checkRewrite(before, prose(560))).toMatchObject({ ok: false, reason: "too_short" });
    expect(checkRewrite(before, prose(580), "deepen")).toMatchObject({ ok: false, reason: "too_short" });
    expect(checkRewrite(before, prose(600), "deepen")).toEqual({ ok: true });
  });
  it.each([
    [prose(300), "too_short"],
    [prose(820), "too_long"],
    [`${prose(600)} and then the`, "no_terminal_punctuation"],
    [`Here is the revised scene:\n\n${prose(600)}`, "meta_text"],
    [`# Scene 4\n\n${prose(600)}`, "meta_text"],
  ])("rejects %#", (after, reason) => {
    const verdict = checkRewrite(before, after);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok === false && verdict.reason).toBe(reason);
  });
});

const world = perTest();

describe("partial manuscript", () => {
  it("names the missing scenes on the title page and in the report", async () => {
    const { engine } = await world.start({ seed: 12, latencyMs: 40 });
    const id = await engine.create({
      premise: "A clock repairer finds a minute missing from every clock in town.",
      scenes: 6,
      words: 6000,
      autoApprove: true,
    });
    await engine.scheduler.start();
    await eventually(() => engine.events.some((e) => e.type === "scene_drafted" && e.scene === 2));
    expect((await pause(engine.db, id)).ok).toBe(true);
    await eventually(() => engine.scheduler.activeProjects.length === 0);
    const project = (await getProject(engine.db, id))!;
    const drafted = (await engine.db.select().from(scenes).where(eq(scenes.projectId, id)))
      .filter((s) => s.text)
      .map((s) => s.number);
    const missing = [1, 2, 3, 4, 5, 6].filter((n) => !drafted.includes(n));
    expect(missing.length).toBeGreaterThan(0);
    const files = await renderExport(engine.db, project, "Test Author", "docx");
    expect(files.missing).toEqual(missing);
    const path = join(engine.dir, files.book.name);
    writeFileSync(path, files.book.data);
    const text = readDocxWithPandoc(path).text;
    expect(text).toContain(
      `Partial manuscript — scene${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not yet written`,
    );
    const report = files.report.data.toString();
    expect(report).toContain(missing.join(", "));
    expect(report).toMatch(/partial/i);
  }, 60_000);
});

describe("revision stages", () => {
  it("rejects a half-length, a cut-off and a meta-text revision and keeps the previous text", async () => {
    const { engine } = await world.start({
      seed: 9,
      faults: {
        spoilProse: [
          { match: "Revise scene 2:", kind: "half" },
          { match: "Revise scene 3:", kind: "cut" },
          { match: "Revise scene 4:", kind: "meta" },
        ],
      },
    });
    const id = await engine.create({
      premise: "A cartographer maps a city that rearranges itself at night.",
      scenes: 5,
      words: 5000,
      autoApprove: true,
    });
    await engine.scheduler.start();
    await eventually(() => engine.events.some((e) => e.type === "done" && e.projectId === id), 60_000);

    const db = engine.db;
    const history = (n: number) =>
      db
        .select()
        .from(sceneVersions)
        .where(and(eq(sceneVersions.projectId, id), eq(sceneVersions.sceneNumber, n)))
        .orderBy(asc(sceneVersions.id));
    const current = async (n: number) =>
      (
        await db
          .select()
          .from(scenes)
          .where(and(eq(scenes.projectId, id), eq(scenes.number, n)))
          .limit(1)
      )[0]!.text;
    for (const [scene, reason] of [
      [2, "too_short"],
      [3, "no_terminal_punctuation"],
      [4, "meta_text"],
    ] as const) {
      // No whole-scene rewrite of it was taken: its text is the draft, or what surgical edits
      // (continuity, voice, motifs) made of it.
      const taken = (await history(scene)).filter((v) => !v.note?.startsWith("rejected"));
      expect(taken[0]!.stage).toBe("drafting");
      for (const v of taken.slice(1)) expect(["continuity", "voice", "motifs"]).toContain(v.stage);
      expect(await current(scene), `scene ${scene}`).toBe(taken.at(-1)!.text);
      const refine = (
        await db
          .select()
          .from(revisionResults)
          .where(
            and(
              eq(revisionResults.projectId, id),
              eq(revisionResults.step, "refine"),
              eq(revisionResults.sceneNumber, scene),
            ),
          )
          .limit(1)
      )[0]!;
      expect(refine).toMatchObject({ outcome: "rejected", reason });
      // Self-refinement and the three editor passes each tried, and each was turned away.
      expect(
        (await history(scene)).filter((v) => v.note?.startsWith(`rejected: ${reason}`)).length,
      ).toBeGreaterThanOrEqual(4);
    }
    for (const scene of [1, 5]) {
      const stages = (await history(scene)).map((v) => v.stage);
      expect(stages).toEqual(
        expect.arrayContaining(["drafting", "refine", "passes.dialogue", "passes.pacing", "passes.sensory"]),
      );
      expect(await current(scene)).toBe((await history(scene)).at(-1)!.text);
    }
    const rejections = await db.select().from(revisionResults).where(eq(revisionResults.outcome, "rejected"));
    expect(new Set(rejections.map((r) => r.sceneNumber))).toEqual(new Set([2, 3, 4]));
  }, 120_000);

  it("runs every revision stage in order and revises scenes with bounded concurrency", async () => {
    const { fake, engine } = await world.start(
      { seed: 10, latencyMs: 30 },
      { FOLIO_REFINE_CONCURRENCY: "3", FOLIO_LLM_CONCURRENCY: "8" },
    );
    const id = await engine.create({
      premise: "Two sisters inherit a ferry that only sails in fog.",
      scenes: 9,
      words: 9000,
      autoApprove: true,
    });
    await engine.scheduler.start();
    await eventually(() => engine.events.some((e) => e.type === "done" && e.projectId === id), 90_000);
    const finished = engine.events
      .filter((e) => e.type === "stage_finished")
      .map((e) => (e as { stage: string }).stage);
    expect(finished).toEqual([
      "concept",
      "world",
      "beats",
      "characters",
      "outline",
      "drafting",
      "refine",
      "continuity",
      "passes",
      "voice",
      "motifs",
      "validate",
    ]);
    // Never more than 3 refine rewrites in flight at once.
    const refine = fake.log.filter((e) => e.firstLine.includes("apply the editor's critique"));
    expect(refine).toHaveLength(9);
    const overlap = Math.max(
      ...refine.map(
        (a) => refine.filter((b) => b.at < a.at + a.durationMs && a.at < b.at + b.durationMs).length,
      ),
    );
    expect(overlap).toBeGreaterThan(1);
    expect(overlap).toBeLessThanOrEqual(3);
    expect(engine.delivered.has(id)).toBe(true);
  }, 120_000);
});
