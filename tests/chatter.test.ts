import { and, eq, isNotNull } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls, revisionResults, sceneVersions } from "../db/schema";
import { stripChatter } from "../src/text/chatter";
import { findMetaText } from "../src/text/meta";
import { CHATTER_CLOSINGS, CHATTER_OPENINGS } from "./fakes/llm-server";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const PROSE = "Mara lifted the lantern. The salt on the glass caught the light.\n\nShe waited for the tide.";

describe("stripping a model's chatter", () => {
  it("takes one opening and one closing line, with a rule beside them, and nothing else", () => {
    for (const opening of CHATTER_OPENINGS) {
      for (const closing of CHATTER_CLOSINGS) {
        const { text, removed } = stripChatter(`${opening}\n\n${PROSE}\n\n${closing}`);
        expect(text).toBe(PROSE);
        expect(removed).toHaveLength(2);
      }
    }
  });

  it("leaves prose alone, dialogue and lines that only look like chatter included", () => {
    for (const prose of [
      PROSE,
      `"Here is the scene you asked for," said the clerk.\n\n${PROSE}`,
      `${PROSE}\n\n"Let me know if the tide turns," Mara said.`,
      `Sure footing was rare on the pier. ${PROSE}`,
      "Certainly! Here is the scene:",
    ]) {
      expect(stripChatter(prose)).toEqual({ text: prose.trim(), removed: [] });
    }
  });
});

const world = perTest();

describe("a model that chatters around every answer", () => {
  it("writes and revises a novel with no chatter in it, every cut recorded, no rewrite lost to it", async () => {
    const { fake, engine: e } = await world.start({ seed: 11, faults: { rateChatter: 1 } });
    const id = await e.create({
      premise: "A lighthouse keeper finds a map that redraws itself every night.",
      scenes: 4,
      words: 4000,
      autoApprove: true,
    });
    await eventually(() => e.events.some((x) => x.type === "done" && x.projectId === id), 90_000);
    const texts = await e.db.select().from(sceneVersions).where(eq(sceneVersions.projectId, id));
    expect(texts.length).toBeGreaterThan(4);
    for (const v of texts) expect(findMetaText(v.text), `${v.stage} of scene ${v.sceneNumber}`).toEqual([]);
    const prose = fake.log.filter((entry) => entry.kind === "prose" && entry.outcome === "ok");
    const cleaned = await e.db
      .select()
      .from(llmCalls)
      .where(and(eq(llmCalls.projectId, id), isNotNull(llmCalls.cleaned)));
    expect(cleaned.length).toBe(prose.length);
    expect(cleaned.every((c) => c.cleaned!.split("\n").length === 2)).toBe(true);
    const rejectedForMeta = await e.db
      .select()
      .from(revisionResults)
      .where(and(eq(revisionResults.projectId, id), eq(revisionResults.reason, "meta_text")));
    expect(rejectedForMeta).toEqual([]);
  });
});
