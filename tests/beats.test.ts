import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { scenes } from "../db/schema";
import { getProject } from "../src/pipeline/store";
import { askFor, fitBeatWords, recordLength } from "../stages/scene-plan";
import type { LengthRecord } from "../stages/types";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

describe("drafting against a beat plan", () => {
  it("lands the book within 10% of its target when the model writes 30% short", async () => {
    const { fake, engine } = await world.start({ seed: 51, faults: { underwrite: [0.7, 0.7] } });
    const id = await engine.create({
      premise: "A ferry pilot on a fog-bound lake ferries the same stranger every night.",
      scenes: 12,
      words: 12_000,
      autoApprove: true,
    });
    await eventually(async () => (await getProject(engine.db, id))?.status === "done", 120_000);
    const rows = await engine.db.select().from(scenes).where(eq(scenes.projectId, id));
    const words = rows.reduce((sum, r) => sum + r.words, 0);
    expect(Math.abs(words / 12_000 - 1)).toBeLessThanOrEqual(0.1);
    // Every scene was planned before it was written, its beats adding up to its target.
    for (const row of rows) {
      expect(row.beats!.length).toBeGreaterThanOrEqual(1);
      expect(row.beats!.reduce((sum, b) => sum + b.words, 0)).toBe(row.targetWords);
    }
    const drafting = fake.log.filter((e) => /^(Draft|Expand) scene|^Plan the beats/.test(e.firstLine));
    // One plan per chapter, one draft per scene, an expansion now and then: the first scene, written
    // before the model's shortfall was known, is expanded; later ones are asked for more at once.
    expect(fake.log.filter((e) => e.firstLine.startsWith("Draft scene"))).toHaveLength(12);
    const expansions = fake.log.filter((e) => e.firstLine.startsWith("Expand scene"));
    expect(expansions.length).toBeGreaterThanOrEqual(1);
    expect(expansions.length).toBeLessThanOrEqual(3);
    expect(drafting.length / 12).toBeLessThanOrEqual(1.6);
    // The expansion rewrites the scene at full length, keeping its ending; it does not continue past it.
    expect(expansions[0]!.prompt).toContain("end exactly where the draft ends");
    // Plans are asked for one call ahead, beside the drafting: scenes 5–8 while scene 1 is written.
    const sent = (start: string) => fake.log.find((e) => e.firstLine.startsWith(start))!.seq;
    expect(sent("Plan the beats of scenes 5–8")).toBeLessThan(sent("Draft scene 2 of"));
    expect(sent("Plan the beats of scenes 9–12")).toBeLessThan(sent("Draft scene 6 of"));
    expect(fake.log.filter((e) => e.firstLine.startsWith("Plan the beats"))).toHaveLength(3);
  }, 150_000);

  it("asks for more by the median of recent drafts, so one answer that ran on does not sway it", () => {
    const lengths: LengthRecord = { shares: [] };
    expect(askFor(1_000, lengths)).toBe(1_000);
    for (const written of [700, 720, 680]) recordLength(lengths, 1_000, written);
    expect(askFor(1_000, lengths)).toBe(Math.round(1_000 / 0.7));
    // An answer that rambled to three times its ask, then a short one: the ask hardly moves.
    recordLength(lengths, 1_400, 4_200);
    recordLength(lengths, 1_400, 1_000);
    expect(askFor(1_000, lengths)).toBe(1_400);
    // A model that writes what it is asked is asked for the target itself.
    const exact: LengthRecord = { shares: [] };
    for (let i = 0; i < 3; i++) recordLength(exact, 1_000, 990);
    expect(askFor(1_000, exact)).toBe(1_000);
    // Only the recent drafts count: a model that has stopped writing short is asked for the target again.
    for (let i = 0; i < 9; i++) recordLength(lengths, 1_000, 1_000);
    expect(askFor(1_000, lengths)).toBe(1_000);
  });

  it("scales the planned beats to the scene's words exactly", () => {
    const fitted = fitBeatWords(
      [
        { what: "Arrival.", words: 100 },
        { what: "The argument.", words: 300 },
        { what: "", words: 50 },
        { what: "The door closes.", words: 100 },
      ],
      1_000,
    );
    expect(fitted.map((b) => b.what)).toEqual(["Arrival.", "The argument.", "The door closes."]);
    expect(fitted.reduce((sum, b) => sum + b.words, 0)).toBe(1_000);
    expect(fitted[1]!.words).toBe(600);
    expect(fitBeatWords([], 800)).toEqual([{ what: "The scene as its card describes it.", words: 800 }]);
  });
});
