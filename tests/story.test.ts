import { describe, expect, it } from "vitest";
import { getProject, loadPlan } from "../src/pipeline/store";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

describe("the writer does not know the ending", () => {
  it("shows each scene only its own card and its neighbours', behind a prefix that never changes", async () => {
    const { fake, engine } = await world.start({ seed: 61 });
    const id = engine.create({
      premise: "A bell-ringer's apprentice learns the bells have been ringing a warning nobody remembers.",
      voice: "Dry, wry, close third person; short sentences when things go wrong.",
      scenes: 12,
      words: 9_600,
      autoApprove: true,
    });
    await eventually(() => getProject(engine.db, id)?.status === "done", 120_000);
    const plan = loadPlan(engine.db, id);
    const { scenes } = plan.outline!;
    const drafts = fake.log.filter((e) => e.firstLine.startsWith("Draft scene"));
    expect(drafts).toHaveLength(12);
    const prefixes = new Set<string>();
    for (const draft of drafts) {
      const n = Number(/^Draft scene (\d+) of/.exec(draft.firstLine)![1]);
      const own = scenes.find((s) => s.number === n)!;
      expect(draft.prompt).toContain(own.goal);
      if (n < 12) expect(draft.prompt).toContain(scenes.find((s) => s.number === n + 1)!.goal);
      for (const later of scenes.filter((s) => s.number > n + 1)) {
        for (const field of [later.goal, later.conflict, later.outcome])
          expect(draft.prompt, `scene ${n} shows scene ${later.number}`).not.toContain(field);
      }
      // Nor where the book or its people end up.
      expect(draft.prompt).not.toContain(plan.concept!.endingDirection);
      for (const c of plan.characters!.characters) expect(draft.prompt).not.toContain(c.arc);
      // The author's own words, and the voice sample, in every one.
      expect(draft.prompt).toContain("A bell-ringer's apprentice learns the bells have been ringing");
      expect(draft.prompt).toContain("Dry, wry, close third person");
      expect(draft.prompt).toContain(plan.concept!.styleSample);
      expect(draft.prompt).toContain("Nothing after this scene has happened yet.");
      // What the outline has this scene plant for later is given to it in so many words.
      for (const setup of own.setups) expect(draft.prompt).toContain(`- ${setup}`);
      prefixes.add(draft.prompt.slice(0, draft.prompt.indexOf(`Draft scene ${n} of`)));
    }
    // The opening every draft shares is byte for byte the same.
    expect(prefixes.size).toBe(1);
    expect(scenes.some((s) => s.setups.length > 0)).toBe(true);
  }, 150_000);
});
