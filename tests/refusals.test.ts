import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls, revisionResults, sceneVersions } from "../db/schema";
import { renderExport } from "../src/pipeline/manuscript";
import { getProject } from "../src/pipeline/store";
import { FAKE_REFUSAL } from "./fakes/llm-server";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

const PREMISE = "A night-ferry pilot smuggles letters between two cities that have stopped speaking.";

async function runUntilAttention(kind: "refusal" | "content_filter", match: string) {
  const { fake, engine: e } = await world.start(
    { seed: 5, faults: { decline: [{ match, kind }] } },
    { FOLIO_UNIT_ATTEMPTS: "3", FOLIO_LLM_MAX_RETRIES: "2" },
  );
  const id = await e.create({ premise: PREMISE, scenes: 4, words: 4000, autoApprove: true });
  const attention = await eventually(() =>
    e.events.find((x) => x.type === "needs_attention" && x.projectId === id),
  );
  // The worker lets go of the project once it has said so.
  await eventually(async () => (await getProject(e.db, id))?.leaseOwner === null);
  const declined = fake.log.filter((entry) => entry.outcome === kind);
  const recorded = await e.db
    .select()
    .from(llmCalls)
    .where(and(eq(llmCalls.projectId, id), eq(llmCalls.outcome, kind)));
  return { id, attention, declined, recorded, project: (await getProject(e.db, id))! };
}

describe("a model that declines", () => {
  it("records a refusal with its text, asks once, and tells the author which scene and why", async () => {
    const run = await runUntilAttention("refusal", "Draft scene 2 of 4");
    // Asked once: neither the unusable-answer loop nor the unit's attempts repeat a refusal.
    expect(run.declined).toHaveLength(1);
    expect(run.recorded).toHaveLength(1);
    expect(run.recorded[0]).toMatchObject({ stage: "drafting", sceneNumber: 2, error: FAKE_REFUSAL });
    expect(run.attention).toMatchObject({ unit: "Scene Drafting, scene 2" });
    expect(run.project.status).toBe("needs_attention");
    expect(run.project.attention).toBe(
      `Scene Drafting, scene 2 failed: The model refused: "${FAKE_REFUSAL}" Change what the card or the premise asks for, or choose another model, then retry.`,
    );
    expect(run.project.leaseOwner).toBeNull();
  });

  it("records a content-filter stop with what came before it, and stops the stage", async () => {
    const run = await runUntilAttention("content_filter", "Build the world of this novel.");
    expect(run.declined).toHaveLength(1);
    expect(run.recorded).toHaveLength(1);
    expect(run.recorded[0]!.error).toMatch(/^stopped by the content filter after: \S/);
    expect(run.project.attention).toMatch(
      /^World Modeling failed: The provider's content filter stopped the answer\. Change what/,
    );
  });

  it("keeps a scene as it was when the model declines to revise it, and finishes the book", async () => {
    // Every rewrite of scene 2 is refused, in every revision stage.
    const { fake, engine: e } = await world.start(
      { seed: 5, faults: { decline: [{ match: "Revise scene 2: ", kind: "refusal" }] } },
      { FOLIO_UNIT_ATTEMPTS: "3" },
    );
    const id = await e.create({ premise: PREMISE, scenes: 4, words: 4000, autoApprove: true });
    await eventually(() => e.events.some((x) => x.type === "done" && x.projectId === id), 90_000);
    expect(e.events.some((x) => x.type === "needs_attention")).toBe(false);
    const refused = fake.log.filter((entry) => entry.outcome === "refusal");
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((entry) => entry.firstLine.startsWith("Revise scene 2: "))).toBe(true);
    // Each refusal is recorded as a declined rewrite of scene 2, and nothing it was asked for replaced it.
    const results = await e.db.select().from(revisionResults).where(eq(revisionResults.projectId, id));
    const declined = results.filter((r) => r.outcome === "declined");
    expect(declined.length).toBe(refused.length);
    expect(declined.every((r) => r.sceneNumber === 2 && r.reason === "the model declined (refusal)")).toBe(
      true,
    );
    const versions = await e.db
      .select({ stage: sceneVersions.stage })
      .from(sceneVersions)
      .where(and(eq(sceneVersions.projectId, id), eq(sceneVersions.sceneNumber, 2)));
    const stepsDeclined = new Set(declined.map((r) => r.step));
    expect(versions.filter((v) => stepsDeclined.has(v.stage))).toEqual([]);
    // The stage says so, and the report lists it among the rewrites not kept.
    const finished = e.events.find(
      (x) => x.type === "stage_finished" && x.projectId === id && x.stage === declined[0]!.step.split(".")[0],
    );
    expect(finished?.type === "stage_finished" && finished.summary).toMatch(/\d+ declined by the model/);
    const files = await renderExport(e.db, (await getProject(e.db, id))!, "Test Author", "docx");
    expect(files.report.data.toString()).toContain("the model declined (refusal)");
  }, 120_000);
});
