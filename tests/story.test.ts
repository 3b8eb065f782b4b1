// Over 300 lines: what keeps a long book coherent, end to end — the hidden future, the story-state
// ledger, revisions that neither shrink nor drift, surgical edits, the rubric and an audit of what stands —
// each against the same fake model and engine, one describe per promise.
import { and, asc, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls, revisionResults, scenes, sceneVersions } from "../db/schema";
import { approve, requestRedraft, rollbackScene, sceneHistory } from "../src/pipeline/actions";
import { buildReport } from "../src/pipeline/report";
import { getProject, loadPlan } from "../src/pipeline/store";
import { applyEdits } from "../src/text/edits";
import { factsAbout } from "../stages/continuity";
import type { RevisionScene } from "../stages/rewrite";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

type Started = Awaited<ReturnType<typeof world.start>>;

/** A short book written to the end with the whole pipeline, approvals given. */
async function finishedBook(
  options: Parameters<typeof world.start>[0],
  premise: string,
  scenes = 6,
): Promise<Started & { id: number }> {
  const started = await world.start(options);
  const id = await started.engine.create({ premise, scenes, words: scenes * 800, autoApprove: true });
  await eventually(async () => (await getProject(started.engine.db, id))?.status === "done", 150_000);
  return { ...started, id };
}

/** What one revision step did to each scene. */
async function resultsOf(engine: Started["engine"], id: number, steps: string[]) {
  return await engine.db
    .select()
    .from(revisionResults)
    .where(and(eq(revisionResults.projectId, id), inArray(revisionResults.step, steps)));
}

/** The scene's paragraphs just before and just after the version a revision step wrote. */
async function paragraphsAround(engine: Started["engine"], id: number, scene: number, step: string) {
  const versions = await engine.db
    .select()
    .from(sceneVersions)
    .where(and(eq(sceneVersions.projectId, id), eq(sceneVersions.sceneNumber, scene)))
    .orderBy(asc(sceneVersions.id));
  const at = versions.findIndex((v) => v.stage === step);
  return { before: versions[at - 1]!.text.split("\n\n"), after: versions[at]!.text.split("\n\n") };
}

describe("the writer does not know the ending", () => {
  it("shows each scene only its own card and its neighbours', behind a prefix that never changes", async () => {
    const { fake, engine } = await world.start({ seed: 61 });
    const id = await engine.create({
      premise: "A bell-ringer's apprentice learns the bells have been ringing a warning nobody remembers.",
      voice: "Dry, wry, close third person; short sentences when things go wrong.",
      scenes: 12,
      words: 9_600,
      autoApprove: true,
    });
    await eventually(async () => (await getProject(engine.db, id))?.status === "done", 120_000);
    const plan = await loadPlan(engine.db, id);
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
      // The system message: everything before the story so far (its own message), the previous scene
      // as written (its own message), or the first request (a scene asked for as the next turn of the
      // previous scene's conversation opens with that scene's request).
      const end =
        /\n(Story so far, by chapter:|Earlier in this chapter:|Scene \d+ of 12 as written|Draft scene \d+ of)/.exec(
          draft.prompt,
        )!.index;
      prefixes.add(draft.prompt.slice(0, end));
    }
    // The opening every draft shares is byte for byte the same.
    expect(prefixes.size).toBe(1);
    expect([...prefixes][0]).toContain("# The chapters");
    expect(scenes.some((s) => s.setups.length > 0)).toBe(true);
  }, 150_000);
});

describe("the drafting conversation", () => {
  it("asks every other scene as the next turn of the previous one's conversation, and digests each as its own", async () => {
    const { fake, engine, id } = await finishedBook(
      { seed: 68 },
      "A tide-clock keeper finds the sea running an hour behind the town.",
    );
    const text = async (n: number) =>
      (
        await engine.db
          .select({ text: sceneVersions.text })
          .from(sceneVersions)
          .where(
            and(
              eq(sceneVersions.projectId, id),
              eq(sceneVersions.sceneNumber, n),
              eq(sceneVersions.stage, "drafting"),
            ),
          )
          .orderBy(asc(sceneVersions.id))
          .limit(1)
      )[0]!.text;
    const draft = (n: number) => fake.log.find((e) => e.firstLine.startsWith(`Draft scene ${n} of`))!;
    // The cache serves a prefix in steps of 128 tokens.
    const at128 = (tokens: number) => Math.floor(tokens / 128) * 128;
    const digest = (n: number) =>
      fake.log.find(
        (e) => e.schemaName === "scene_digest" && e.firstLine.startsWith(`Summarise scene ${n},`),
      )!;
    for (const n of [2, 4, 6]) {
      // The previous scene's request and the scene it wrote, then this scene's request.
      const prompt = draft(n).prompt;
      expect(prompt.startsWith(draft(n - 1).prompt)).toBe(true);
      expect(prompt).toContain(await text(n - 1));
      // Served from the cache: the previous request always (that call put it there), and the previous
      // scene too for whichever of this draft and the previous scene's digest (the same conversation
      // so far) comes second.
      expect(draft(n).cachedTokens).toBeGreaterThanOrEqual(at128(draft(n - 1).promptTokens));
      const second = [draft(n), digest(n - 1)].sort((a, b) => b.seq - a.seq)[0]!;
      expect(second.cachedTokens).toBeGreaterThan(0.75 * second.promptTokens);
    }
    for (const n of [3, 5]) {
      // A new conversation: only the last words of the scene before, and no earlier request.
      expect(draft(n).prompt).not.toContain(`Draft scene ${n - 1} of`);
      expect(draft(n).prompt).not.toContain(await text(n - 1));
      expect(draft(n).prompt).toContain((await text(n - 1)).split(/\s+/).slice(-40).join(" "));
    }
    for (let n = 1; n <= 6; n++) {
      // Each digest continues its scene's conversation: the request, the scene, then the questions.
      expect(digest(n).prompt.startsWith(`${draft(n).prompt}\n${await text(n)}\n`)).toBe(true);
      expect(digest(n).cachedTokens).toBeGreaterThanOrEqual(at128(draft(n).promptTokens));
    }
  }, 200_000);
});

describe("the story-state ledger", () => {
  it("carries each character's state as of the scene into the drafts they appear in, and follows a redraft and a rollback", async () => {
    const { fake, engine } = await world.start({ seed: 62 });
    const id = await engine.create({
      premise: "A ferry pilot on a fog-bound lake carries the same stranger every night.",
      scenes: 12,
      words: 9_600,
    });
    // At the gate, and waiting there: the stage is reached a moment before the project waits.
    await eventually(async () => {
      const project = await getProject(engine.db, id);
      return project?.stage === "outline_gate" && project.status === "waiting";
    }, 60_000);
    const { scenes } = (await loadPlan(engine.db, id)).outline!;
    // The one we follow is scene 10's point of view; another, never on scene 10's card, beside them.
    const followed = scenes.find((s) => s.number === 10)!.pov;
    const other = "Someone Else Entirely";
    fake.setFaults({
      ledger: [
        { scene: 3, character: followed, condition: "a broken left wrist" },
        { scene: 4, character: other, condition: "a fever" },
        { scene: 5, character: followed, location: "the salt mill" },
        { scene: 7, character: followed, learned: ["the stranger drowned in 1911"] },
      ],
    });
    expect((await approve(engine.db, id)).ok).toBe(true);
    engine.scheduler.wake();
    // At the draft gate, and waiting there, as at the outline gate.
    await eventually(async () => {
      const project = await getProject(engine.db, id);
      return project?.stage === "draft_gate" && project.status === "waiting";
    }, 120_000);

    const draftOf = (n: number) =>
      fake.log.find((e) => e.firstLine.startsWith(`Draft scene ${n} of`))!.prompt;
    // The request for this scene is the last message: a draft that continues the previous scene's
    // conversation carries that scene's request, with its standing, before it.
    const stateLine = (prompt: string) =>
      prompt
        .split("\n")
        .filter((l) => l.startsWith(`- ${followed}:`))
        .at(-1);
    expect(stateLine(draftOf(10))).toBe(
      `- ${followed}: at the salt mill; condition: a broken left wrist; knows: the stranger drowned in 1911`,
    );
    // Chosen by who is in the scene: the other character's fever is not in scene 10's draft.
    expect(draftOf(10)).not.toContain("a fever");
    // Before the injury there was nothing to say about it.
    for (const n of [1, 2, 3]) expect(draftOf(n)).not.toContain("a broken left wrist");

    // Scene 5 redrafted: the move is now to the lighthouse, and a later scene's redraft follows it.
    fake.setFaults({
      ledger: [{ scene: 5, character: followed, location: "the lighthouse stair" }],
    });
    expect((await requestRedraft(engine.db, id, 5, "Send them to the lighthouse instead.")).ok).toBe(true);
    engine.scheduler.wake();
    const redrafts = () => fake.log.filter((e) => e.firstLine.startsWith("Draft scene"));
    const before = redrafts().length;
    await eventually(
      async () => (await getProject(engine.db, id))?.stage === "draft_gate" && redrafts().length > before,
      60_000,
    );
    await eventually(async () => (await getProject(engine.db, id))?.leaseOwner === null, 30_000);
    expect((await requestRedraft(engine.db, id, 10, "Tighten it.")).ok).toBe(true);
    engine.scheduler.wake();
    await eventually(
      () => fake.log.filter((e) => e.firstLine.startsWith("Draft scene 10 of")).length === 2,
      60_000,
    );
    const again = fake.log.filter((e) => e.firstLine.startsWith("Draft scene 10 of")).at(-1)!;
    expect(stateLine(again.prompt)).toBe(
      `- ${followed}: at the lighthouse stair; condition: a broken left wrist; knows: the stranger drowned in 1911`,
    );

    // Scene 5 rolled back to its first draft, which sent them to the salt mill: the ledger is rebuilt
    // from the text that stands before the next prompt reads it.
    await eventually(async () => (await getProject(engine.db, id))?.leaseOwner === null, 30_000);
    fake.setFaults({ ledger: [{ scene: 5, character: followed, location: "the salt mill" }] });
    const first = (await sceneHistory(engine.db, id, 5)).find((v) => v.stage === "drafting")!;
    expect((await rollbackScene(engine.db, id, 5, first.id)).ok).toBe(true);
    expect((await requestRedraft(engine.db, id, 10, "Once more.")).ok).toBe(true);
    engine.scheduler.wake();
    const tenth = () => fake.log.filter((e) => e.firstLine.startsWith("Draft scene 10 of"));
    await eventually(() => tenth().length === 3, 60_000);
    const redigested = fake.log.findIndex(
      (e) => e.schemaName === "scene_digest" && e.prompt.includes("Summarise scene 5,") && e.seq > again.seq,
    );
    expect(redigested).toBeGreaterThan(-1);
    expect(fake.log[redigested]!.seq).toBeLessThan(tenth()[2]!.seq);
    expect(stateLine(tenth()[2]!.prompt)).toBe(
      `- ${followed}: at the salt mill; condition: a broken left wrist; knows: the stranger drowned in 1911`,
    );
  }, 240_000);
});

describe("revisions that do not shrink the book", () => {
  it("keeps the book within 10% of its target when drafts come in at 75% and rewrites at 90%", async () => {
    const { fake, engine } = await world.start({
      seed: 63,
      faults: { underwrite: [0.75, 0.75], rewriteUnderwrite: [0.9, 0.9] },
    });
    const id = await engine.create({
      premise: "A cartographer's widow redraws the coast her husband drowned mapping.",
      scenes: 10,
      words: 10_000,
      autoApprove: true,
    });
    await eventually(async () => (await getProject(engine.db, id))?.status === "done", 180_000);
    const after = engine.events.flatMap((e) =>
      e.type === "stage_finished" && e.projectId === id ? [{ stage: e.stage, words: e.progress.words }] : [],
    );
    const drafted = after.findIndex((a) => a.stage === "drafting");
    const revisions = after.slice(drafted);
    expect(revisions.length).toBeGreaterThan(5);
    // No stage after the drafting takes more than 3% off the book.
    for (let i = 1; i < revisions.length; i++) {
      const [was, now] = [revisions[i - 1]!, revisions[i]!];
      expect(now.words, `${now.stage} after ${was.stage}`).toBeGreaterThanOrEqual(0.97 * was.words);
    }
    expect(Math.abs(revisions.at(-1)!.words / 10_000 - 1)).toBeLessThanOrEqual(0.1);
    // Rewrites asked for the scene's length or its target, whichever is more.
    const rewrites = fake.log.filter((e) => e.firstLine.startsWith("Revise scene"));
    expect(rewrites.length).toBeGreaterThan(10);
    for (const r of rewrites)
      expect(Number(/Target length: about (\d+) words/.exec(r.prompt)![1])).toBeGreaterThanOrEqual(
        1_000 * 0.75,
      );
  }, 240_000);

  it("shows each rewrite how the neighbouring scenes end and open", async () => {
    const { fake, engine } = await world.start({ seed: 64 });
    const id = await engine.create({
      premise: "Two rival bakers share one oven through a long winter siege.",
      scenes: 4,
      words: 3_200,
      autoApprove: true,
    });
    await eventually(async () => (await getProject(engine.db, id))?.status === "done", 120_000);
    const rewrites = fake.log.filter((e) => e.firstLine.startsWith("Revise scene"));
    const of = (n: number) => rewrites.filter((e) => e.firstLine.startsWith(`Revise scene ${n}:`));
    for (const r of of(1)) {
      expect(r.prompt).not.toContain("The previous scene ends:");
      expect(r.prompt).toContain("The next scene opens:");
    }
    for (const r of of(2)) {
      expect(r.prompt).toContain("The previous scene ends:");
      expect(r.prompt).toContain("The next scene opens:");
      expect(r.prompt).toContain("Keep the joins");
    }
    for (const r of of(4)) expect(r.prompt).not.toContain("The next scene opens:");
    expect(of(2).length).toBeGreaterThan(0);
  }, 150_000);
});

describe("surgical edits", () => {
  const scene = [
    "The ferry left at dawn. Mara counted the crates twice.",
    "Ada watched the fog. The fog watched her back, or seemed to.",
    "At the far shore the bell rang once. Nobody answered it.",
  ].join("\n\n");

  it("applies an edit only where its words occur exactly once, and leaves the rest byte for byte", () => {
    const result = applyEdits(scene, [
      { find: "Mara counted the crates twice.", replace: "Mara counted the crates three times.", reason: "" },
      { find: "a line the scene never had", replace: "x", reason: "" },
      { find: "The fog", replace: "A fog", reason: "" },
      { find: "fog", replace: "mist", reason: "" },
      { find: "The ferry left at dawn. Mara", replace: "The ferry left. Mara", reason: "" },
    ]);
    expect(result.applied.map((e) => e.find)).toEqual(["Mara counted the crates twice.", "The fog"]);
    expect(result.rejected.map((r) => r.why)).toEqual(["no_match", "ambiguous", "overlap"]);
    const [first, second, third] = result.text.split("\n\n");
    expect(first).toBe("The ferry left at dawn. Mara counted the crates three times.");
    expect(second).toBe("Ada watched the fog. A fog watched her back, or seemed to.");
    expect(third).toBe(scene.split("\n\n")[2]);
  });

  it("fixes continuity by edits: misses are refused and recorded, the other paragraphs stay as they were", async () => {
    const { fake, engine, id } = await finishedBook(
      { seed: 65, faults: { editMisses: true } },
      "A lamplighter's son finds the city's lamps spell a message at midnight.",
    );
    const edits = fake.log.filter((e) => e.schemaName === "scene_edits");
    expect(edits.length).toBeGreaterThan(0);
    // No whole-scene rewrite for a local problem: the surgical stages sent no "Revise scene".
    const rewrites = fake.log.filter((e) => e.firstLine.startsWith("Revise scene"));
    for (const r of rewrites) expect(r.firstLine).not.toMatch(/continuity errors|machine-prose|motifs/);
    const results = await resultsOf(engine, id, ["continuity", "voice", "motifs"]);
    const edited = results.filter((r) => r.detail && "editsRejected" in r.detail);
    expect(edited.length).toBeGreaterThan(0);
    for (const r of edited) {
      const why = (r.detail!.editsRejected as { why: string }[]).map((x) => x.why);
      expect(why).toEqual(expect.arrayContaining(["no_match", "ambiguous"]));
    }
    const revised = edited.filter((r) => r.outcome === "revised");
    expect(revised.length).toBeGreaterThan(0);
    for (const r of revised) {
      const { before, after } = await paragraphsAround(engine, id, r.sceneNumber, r.step);
      expect(after).toHaveLength(before.length);
      const changed = before.filter((p, i) => p !== after[i]).length;
      expect(changed).toBeGreaterThan(0);
      expect(changed).toBeLessThanOrEqual(r.detail!.editsApplied as number);
    }
  }, 200_000);
});

describe("book-level repetition, repaired where it is", () => {
  it("edits the closing sentence of scenes that all end alike, and leaves the rest of each scene as it was", async () => {
    const ending = "The fog closed over the water and nobody said a word.";
    const { fake, engine, id } = await finishedBook(
      { seed: 66, faults: { sceneEnding: ending } },
      "A ferry pilot's daughter hears her drowned father's bell at every crossing.",
    );
    const repaired = (await resultsOf(engine, id, ["validate.repair-1"])).filter(
      (r) => JSON.stringify(r.detail?.failed) === JSON.stringify(["closings"]),
    );
    // Scene 1 keeps its ending; the others close like it and fail only for that.
    expect(repaired.map((r) => r.sceneNumber).sort()).toEqual([2, 3, 4, 5, 6]);
    const validateCalls = await engine.db
      .select({ purpose: llmCalls.purpose, scene: llmCalls.sceneNumber })
      .from(llmCalls)
      .where(and(eq(llmCalls.projectId, id), eq(llmCalls.stage, "validate")));
    for (const r of repaired) {
      // One edit call for the scene, no whole-scene rewrite.
      const calls = validateCalls.filter((c) => c.scene === r.sceneNumber).map((c) => c.purpose);
      expect(calls).toContain("edits");
      expect(calls).not.toContain("rewrite");
      expect(r.outcome).toBe("revised");
      const { before, after } = await paragraphsAround(engine, id, r.sceneNumber, r.step);
      expect(before.at(-1)!.endsWith(ending)).toBe(true);
      // Only the last paragraph changed, and in it only its last sentence.
      expect(after.slice(0, -1)).toEqual(before.slice(0, -1));
      expect(after.at(-1)!.endsWith(ending)).toBe(false);
      expect(after.at(-1)!.startsWith(before.at(-1)!.slice(0, -ending.length).trimEnd())).toBe(true);
    }
    // The edit prompts quoted the ending they were to change.
    const edits = fake.log.filter(
      (e) => e.schemaName === "scene_edits" && e.firstLine.includes("unlike the other"),
    );
    expect(edits).toHaveLength(5);
    for (const e of edits) expect(e.prompt).toContain(`its last sentence "${ending}"`);
  }, 200_000);
});

describe("critique against a rubric", () => {
  it("leaves scenes scored at the bar alone, rewrites the rest with their low scores, and reports before and after", async () => {
    const { fake, engine, id } = await finishedBook(
      { seed: 66, faults: { rubric: { 1: 5, 2: 2, 3: 4, 4: 3 } } },
      "A night-ferry cook hears each passenger's last meal in the hiss of the stove.",
      4,
    );
    const refineRewrites = (n: number) =>
      fake.log.filter(
        (e) => e.firstLine.startsWith(`Revise scene ${n}:`) && e.firstLine.includes("editor's critique"),
      );
    expect(refineRewrites(1)).toEqual([]);
    expect(refineRewrites(3)).toEqual([]);
    expect(refineRewrites(2)).toHaveLength(1);
    expect(refineRewrites(4)).toHaveLength(1);
    // The low scores are the brief.
    expect(refineRewrites(2)[0]!.prompt).toContain("Raise conflict on the page");
    expect(refineRewrites(2)[0]!.prompt).toContain("(scored 2/5)");
    const refine = await resultsOf(engine, id, ["refine"]);
    expect(refine.find((r) => r.sceneNumber === 1)).toMatchObject({ outcome: "unchanged" });
    expect(refine.find((r) => r.sceneNumber === 2)!.detail).toHaveProperty("rubricAfter");
    const report = await buildReport(engine.db, (await getProject(engine.db, id))!, "Test Author");
    expect(report).toContain("## Rubric (self-refinement)");
    expect(report).toMatch(/\| conflict +\| +3\.5 \| +\d\.\d \|/);
  }, 200_000);
});

describe("the audit reads what stands", () => {
  it("digests the scenes rewritten since drafting again before auditing, and audits their new digests", async () => {
    const { fake, engine, id } = await finishedBook(
      { seed: 67 },
      "A clockmaker's apprentice discovers every clock in the village is a minute slow but one.",
    );
    const refined = (await resultsOf(engine, id, ["refine"]))
      .filter((r) => r.outcome === "revised")
      .map((r) => r.sceneNumber);
    expect(refined.length).toBeGreaterThan(0);
    const again = (
      await engine.db
        .select()
        .from(llmCalls)
        .where(
          and(eq(llmCalls.projectId, id), eq(llmCalls.stage, "continuity"), eq(llmCalls.purpose, "digest")),
        )
    ).map((c) => c.sceneNumber);
    expect(new Set(again)).toEqual(new Set(refined));
    // The audit saw the digests of the texts as they stood after refinement.
    const audits = fake.log.filter((e) => e.schemaName === "continuity_audit");
    const firstAudit = Math.min(...audits.map((a) => a.seq));
    expect(fake.log.filter((e) => e.firstLine.startsWith("Summarise scene") && e.seq > firstAudit)).toEqual(
      [],
    );
    const rows = await engine.db.select().from(scenes).where(eq(scenes.projectId, id));
    for (const n of refined) {
      const summary = rows.find((r) => r.number === n)!.summary!;
      expect(
        audits.some((a) => a.prompt.includes(summary)),
        `scene ${n}`,
      ).toBe(true);
    }
  }, 200_000);

  it("shows a window the earlier facts about its people and places, not the latest facts of the book", () => {
    const card = (pov: string, place: string) =>
      ({ pov, characters: [pov], place }) as unknown as RevisionScene["card"];
    const window = [
      {
        number: 7,
        chapter: 3,
        title: "t",
        text: "Ada Vell reached the mill at dusk.",
        card: card("Ada Vell", "the salt mill"),
      },
    ];
    const earlier = [
      "Ada Vell broke her wrist in the flood.",
      "Tomas sold the grey horse.",
      "The salt mill burned in 1902.",
      "Rain fell for a week.",
      "Nobody has seen Ada's brother since spring.",
    ];
    expect(factsAbout(window, earlier, ["Ada Vell", "Tomas Reed"])).toEqual([
      "Ada Vell broke her wrist in the flood.",
      "The salt mill burned in 1902.",
      "Nobody has seen Ada's brother since spring.",
    ]);
  });
});
