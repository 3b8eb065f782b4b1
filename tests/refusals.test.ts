import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls } from "../db/schema";
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
});
