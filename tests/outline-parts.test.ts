import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stageOutputs } from "../db/schema";
import { reviseOutline } from "../src/pipeline/actions";
import { loadPlan } from "../src/pipeline/store";
import { fitChapterSizes, type Outline, type PlannedChapter, partsOf } from "../stages/outline";
import { type FakeLlm, type FakeLlmLogEntry, startFakeLlm } from "./fakes/llm-server";
import { cliEnv, eventually, peekRows, runCli, startCli, tempDir, waitForExit } from "./helpers/cli";
import { descriptionOf, startWorld, titleOf, waitForMessage } from "./helpers/discord";
import { perTest } from "./helpers/engine";
import { rowsOf } from "./helpers/rows";

/** The scenes an `outline_scenes` request asked cards for, as "first-last". */
const cardRange = (entry: FakeLlmLogEntry) =>
  /Write the scene cards for scenes (\d+)–(\d+) of/.exec(entry.prompt)?.slice(1, 3).join("-");

const cardRequests = (log: FakeLlmLogEntry[]) => log.filter((e) => e.schemaName === "outline_scenes");

/** Every scene number the cards were asked for, in the order asked. */
const scenesAsked = (log: FakeLlmLogEntry[]) =>
  cardRequests(log).flatMap((e) => {
    const [first, last] = cardRange(e)!.split("-").map(Number) as [number, number];
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  });

const chapter = (number: number, scenes: number): PlannedChapter => ({
  number,
  title: `Chapter ${number}`,
  summary: "Things happen.",
  beats: "Midpoint",
  scenes,
});

describe("outline parts", () => {
  it("makes the planned chapters hold exactly the book's scenes", () => {
    expect(fitChapterSizes([3, 3, 3], 12)).toEqual([4, 4, 4]);
    expect(fitChapterSizes([8, 1, 2, 0], 10)).toEqual([6, 1, 2, 1]);
    expect(fitChapterSizes([8, 8, 8], 6)).toEqual([2, 2, 2]);
    expect(fitChapterSizes([1, 1, 1], 3)).toEqual([1, 1, 1]);
    for (const [wishes, total] of [
      [[5, 7, 2, 8, 1], 40],
      [[2, 2], 3],
      [[3, 4, 3, 4, 3, 4, 3], 120],
    ] as const) {
      const sizes = fitChapterSizes([...wishes], total);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
    }
  });

  it("gathers whole chapters into parts of at most ten cards", () => {
    const parts = partsOf([chapter(1, 3), chapter(2, 4), chapter(3, 3), chapter(4, 8), chapter(5, 3)]);
    expect(parts.map((p) => [p.first, p.last, p.chapters.map((c) => c.number)])).toEqual([
      [1, 10, [1, 2, 3]],
      [11, 18, [4]],
      [19, 21, [5]],
    ]);
  });
});

const world = perTest();

describe("a long outline against a small output cap", () => {
  it("plans 120 scenes in parts, no answer over 4,096 tokens, and assembles one outline", async () => {
    const { fake, engine } = await world.start(
      { seed: 31, outputCap: 4096 },
      { FOLIO_MAX_OUTPUT_TOKENS: "4096" },
    );
    const id = await engine.create({
      premise: "A lighthouse keeper's daughter inherits a ledger of every ship her father let sink.",
      scenes: 120,
      words: 120_000,
    });
    await engine.scheduler.start();
    await eventually(() => engine.events.some((e) => e.type === "gate" && e.projectId === id), 60_000);

    const outlineCalls = fake.log.filter((e) => e.schemaName?.startsWith("outline_"));
    expect(outlineCalls.filter((e) => e.schemaName === "outline_chapters")).toHaveLength(1);
    for (const call of outlineCalls) {
      expect(call.outcome, `request ${call.seq}`).toBe("ok");
      expect(call.completionTokens).toBeLessThan(4096);
      expect(call.maxTokens).toBeLessThanOrEqual(4096);
    }
    // Each part asks for ten cards at most, every scene exactly once, in order.
    const ranges = cardRequests(fake.log).map(
      (e) => cardRange(e)!.split("-").map(Number) as [number, number],
    );
    for (const [first, last] of ranges) expect(last - first + 1).toBeLessThanOrEqual(10);
    expect(scenesAsked(fake.log)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // Later parts see the cards written before them, so the story carries on.
    expect(cardRequests(fake.log).at(-1)!.prompt).toContain("# The scene cards written so far");
    // Each part is announced as it is asked for: what, and how many of all are done.
    const steps = engine.events.flatMap((e) => (e.type === "stage_step" ? [e.progress.step!] : []));
    expect(steps).toHaveLength(ranges.length);
    expect(steps.map((s) => s.done)).toEqual(ranges.map((_, i) => i));
    for (const [i, step] of steps.entries()) {
      expect(step.total).toBe(ranges.length);
      expect(step.now).toBe(`Scene cards ${ranges[i]![0]}–${ranges[i]![1]} of 120`);
    }

    const outline = (await loadPlan(engine.db, id)).outline!;
    expect(outline.scenes.map((s) => s.number)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(outline.scenes.reduce((sum, s) => sum + s.targetWords, 0)).toBe(120_000);
    const chapters = outline.scenes.map((s) => s.chapter);
    expect(chapters[0]).toBe(1);
    for (let i = 1; i < chapters.length; i++) expect(chapters[i]! - chapters[i - 1]!).toBeOneOf([0, 1]);
    expect(outline.chapters.map((c) => c.number)).toEqual(
      Array.from({ length: chapters.at(-1)! }, (_, i) => i + 1),
    );
    // The parts were stored only until the outline was.
    const [parts] = await rowsOf<{ n: number }>(
      engine.db,
      "select count(*) as n from stage_outputs where stage like 'outline#%'",
    );
    expect(parts).toEqual({ n: 0 });
  }, 90_000);

  const notes = "Let the ice break in chapter two, not at the end.";

  /**
   * A 24-scene outline planned, `between` run at its gate, then revised with `notes` to its second
   * gate; the requests of the revision are returned.
   */
  async function revisedOutline(
    { fake, engine }: Awaited<ReturnType<typeof world.start>>,
    between: (id: number) => void | Promise<void> = () => {},
  ) {
    const id = await engine.create({
      premise: "Two sisters run rival ferries across a lake that freezes one night a year.",
      scenes: 24,
      words: 24_000,
    });
    await engine.scheduler.start();
    const gates = () => engine.events.filter((e) => e.type === "gate" && e.projectId === id).length;
    await eventually(() => gates() === 1, 30_000);
    const firstRound = fake.log.length;
    await between(id);
    expect((await reviseOutline(engine.db, id, notes)).ok).toBe(true);
    engine.scheduler.wake();
    await eventually(() => gates() === 2, 30_000);
    return { id, revision: fake.log.slice(firstRound) };
  }

  it("revising with notes plans every part again, none taken from the outline before", async () => {
    const started = await world.start({ seed: 32 });
    const { engine } = started;
    let first: Outline | undefined;
    const { id, revision } = await revisedOutline(started, async (id) => {
      first = (await loadPlan(engine.db, id)).outline!;
      // A chapter plan left behind under the first run's name must not be taken for the revision's.
      await engine.db.insert(stageOutputs).values({ projectId: id, stage: "outline#0:chapters", data: [] });
    });

    const chaptersAsked = revision.filter((e) => e.schemaName === "outline_chapters");
    expect(chaptersAsked).toHaveLength(1);
    expect(chaptersAsked[0]!.prompt).toContain(notes);
    for (const call of cardRequests(revision)) expect(call.prompt).toContain(notes);
    expect(scenesAsked(revision)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const second = (await loadPlan(engine.db, id)).outline!;
    expect(second.scenes).toHaveLength(24);
    expect(second.scenes.map((s) => s.title)).not.toEqual(first!.scenes.map((s) => s.title));
    const rows = await rowsOf<{ stage: string; n: number }>(
      engine.db,
      "select stage, count(*) as n from stage_outputs group by stage",
    );
    expect(rows).toEqual(expect.arrayContaining([{ stage: "outline", n: 2 }]));
    expect(rows.filter((r) => (r as { stage: string }).stage.includes("#"))).toEqual([]);
  }, 60_000);

  it("revising in a window too small for the whole outline shows it as chapter lines instead", async () => {
    // 5,400 tokens hold the first round's prompts with room for their answers, not the cards of all
    // 24 scenes beside them.
    const WINDOW = 5_400;
    const started = await world.start({ seed: 32 }, { FOLIO_CONTEXT_TOKENS: String(WINDOW) });
    const { id, revision } = await revisedOutline(started);
    const outlineCalls = revision.filter((e) => e.schemaName?.startsWith("outline_"));
    expect(outlineCalls.length).toBeGreaterThan(1);
    for (const call of outlineCalls) {
      expect(call.prompt).toContain(notes);
      expect(call.prompt).toMatch(/## Chapter 1: .* — scenes 1–\d+: /);
      expect(call.prompt).not.toContain("### Scene 1:");
      expect(call.promptTokens + call.maxTokens!).toBeLessThanOrEqual(WINDOW);
    }
    expect((await loadPlan(started.engine.db, id)).outline!.scenes).toHaveLength(24);
  }, 60_000);
});

/** SIGKILL while the outline's scene cards are being written, then `folio resume`. */
describe("crash during the outline", () => {
  let fake: FakeLlm;
  afterAll(async () => {
    await fake?.close();
  });

  it("asks again only for the part in flight; the parts stored before the crash are kept", async () => {
    fake = await startFakeLlm({ seed: 33, latencyMs: 60, outputCap: 4096 });
    const dir = tempDir();
    const dbPath = join(dir, "folio.db");
    const env = cliEnv(fake.url, dbPath, { FOLIO_MAX_OUTPUT_TOKENS: "4096" });
    const storedParts = () =>
      peekRows<{ stage: string }>(
        dbPath,
        "select stage from stage_outputs where stage like 'outline#%:scenes-%'",
      ).map((r) => r.stage.split(":scenes-")[1]!);
    const writer = startCli(
      [
        "write",
        "--premise",
        "A cartographer's apprentice maps a city that rearranges its streets at dawn.",
        "--scenes",
        "120",
        "--words",
        "120000",
      ],
      env,
      dir,
    );
    await eventually(() => storedParts().length >= 3, 120_000, 20);
    // The next part's request never gets an answer: it is in flight when the process dies.
    fake.setFaults({ rateHang: 1 });
    const inFlight = await eventually(
      () => fake.log.find((e) => e.schemaName === "outline_scenes" && e.outcome === "hang"),
      30_000,
      20,
    );
    writer.kill("SIGKILL");
    expect((await waitForExit(writer)).signal).toBe("SIGKILL");
    fake.setFaults({});
    const before = storedParts();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before).not.toContain(cardRange(inFlight));

    // Without a terminal to ask on, the resumed run stops at the outline gate.
    const resumed = await runCli(["resume"], env, dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("waits for approval");
    // The resumed run names each part it asks for; the parts stored before are not asked for again.
    expect(resumed.stdout).toContain(
      `Master Outline: Scene cards ${cardRange(inFlight)!.replace("-", "–")} of 120`,
    );
    for (const part of before)
      expect(resumed.stdout).not.toContain(`Scene cards ${part.replace("-", "–")} of`);

    expect(fake.log.filter((e) => e.schemaName === "outline_chapters")).toHaveLength(1);
    const asked = new Map<string, number>();
    for (const e of cardRequests(fake.log)) asked.set(cardRange(e)!, (asked.get(cardRange(e)!) ?? 0) + 1);
    for (const part of before) expect(asked.get(part), `part ${part}`).toBe(1);
    // The part in flight at the kill is the only one asked for twice.
    expect([...asked].filter(([, n]) => n > 1)).toEqual([[cardRange(inFlight), 2]]);
    expect([...new Set(scenesAsked(fake.log))].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 120 }, (_, i) => i + 1),
    );

    const [row] = peekRows<{ data: unknown }>(
      dbPath,
      "select data from stage_outputs where stage = 'outline' order by id desc limit 1",
    );
    // JSON text from SQLite, a JSON value from Postgres.
    const outline = (typeof row?.data === "string" ? JSON.parse(row.data) : row?.data) as {
      scenes: { number: number }[];
    };
    expect(outline.scenes.map((s) => s.number)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(peekRows(dbPath, "select count(*) as n from stage_outputs where stage like 'outline#%'")).toEqual([
      { n: 0 },
    ]);
  }, 240_000);
});

describe("the outline's parts on Discord", () => {
  it("names the scene cards being planned on a progress card, finished with the outline", async () => {
    const w = await startWorld({ llm: { latencyMs: 500 } });
    try {
      const start = await w.discord.sendCommand({
        user: w.author.id,
        command: "novel",
        subcommand: "start",
        options: {
          premise: "A tide clock in a drowned town starts keeping time again.",
          scenes: 25,
          words: 25_000,
        },
      });
      await start.waitForAck();
      const threadId = await w.discord.waitFor(() => w.discord.threads()[0]?.id);
      await waitForMessage(w.discord, threadId, (m) => titleOf(m).startsWith("📜 Outline ready"), 60_000);
      const card = await waitForMessage(w.discord, threadId, (m) => titleOf(m) === "Master Outline — done");
      expect(descriptionOf(card)).toContain("100%");
      // While the cards were written, the card named the part in flight.
      const shown = w.discord.calls
        .filter((c) => c.path.startsWith(`/channels/${threadId}/messages`))
        .map((c) => JSON.stringify(c.body));
      expect(shown.some((body) => /Scene cards 1–\d+ of 25/.test(body))).toBe(true);
      expect(shown.some((body) => /Scene cards \d+–25 of 25/.test(body))).toBe(true);
    } finally {
      await w.stop();
    }
  }, 90_000);
});
