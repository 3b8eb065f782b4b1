/**
 * `npm run bench`: drafts a 50-scene novel against the local fake endpoint (fixed 50 ms per call) and
 * exports a 120,000-word book, printing each figure next to its goal, all measured in this one run.
 */
import { and, eq, sql } from "drizzle-orm";
import { llmCalls, scenes } from "../db/schema";
import { eventually } from "../tests/helpers/cli";
import { startTestEngine } from "../tests/helpers/engine";
import { startEndpoint } from "./endpoint";
import { benchExport } from "./export";
import { benchLint } from "./lint";
import { benchMany } from "./many";
import { benchPictures } from "./pictures";
import { benchStart } from "./start";

export interface Row {
  figure: string;
  value: number;
  goal: string;
  met: boolean;
}

async function benchDrafting(): Promise<Row[]> {
  const fake = await startEndpoint();
  // The window is planning plus drafting: from the scheduler's start to the last scene's digest.
  let window: { wall: number; busy: number } | undefined;
  let started = 0;
  const engine = startTestEngine(fake.url, { FOLIO_MAX_ACTIVE_PROJECTS: "1" }, { pollMs: 1000 }, (e) => {
    if (e.type === "stage_finished" && e.stage === "drafting") {
      window = { wall: Date.now() - started, busy: engine.llm.busy.busyMs };
    }
  });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  try {
    const id = await engine.create({
      premise:
        "A cartographer's apprentice discovers that the city's maps are rewriting its streets at night.",
      scenes: 50,
      words: 60_000,
      autoApprove: true,
    });
    started = Date.now();
    await engine.scheduler.start();
    await eventually(() => engine.events.some((e) => e.type === "done" && e.projectId === id), 600_000, 10);
    const { wall, busy: busyMs } = window!;
    const drafting = engine.db
      .select({
        prompt: sql<number>`sum(${llmCalls.promptTokens})`,
        cached: sql<number>`sum(${llmCalls.cachedTokens})`,
        completion: sql<number>`sum(${llmCalls.completionTokens})`,
      })
      .from(llmCalls)
      .where(and(eq(llmCalls.projectId, id), eq(llmCalls.stage, "drafting")))
      .get()!;
    const scenePrompt = (n: number) =>
      engine.db
        .select({ tokens: llmCalls.promptTokens })
        .from(llmCalls)
        .where(
          and(
            eq(llmCalls.projectId, id),
            eq(llmCalls.sceneNumber, n),
            eq(llmCalls.purpose, "scene"),
            eq(llmCalls.outcome, "ok"),
          ),
        )
        .get()!.tokens;
    const busy = busyMs / wall;
    return [
      { figure: "wall time with ≥ 1 LLM call in flight", value: busy, goal: "≥ 0.97", met: busy >= 0.97 },
      {
        figure: "prompt tokens, scene 50 ÷ scene 2",
        value: scenePrompt(50) / scenePrompt(2),
        goal: "≤ 1.5",
        met: scenePrompt(50) / scenePrompt(2) <= 1.5,
      },
      {
        figure: "cached share of drafting prompt tokens",
        value: drafting.cached / drafting.prompt,
        goal: "≥ 0.7",
        met: drafting.cached / drafting.prompt >= 0.7,
      },
      {
        // What the prompts cost at the full price: every drafting call of the book, per scene.
        figure: "drafting prompt tokens not served by the cache, per scene",
        value: (drafting.prompt - drafting.cached) / 50,
        goal: "(reported)",
        met: true,
      },
      {
        figure: "drafting input ÷ output tokens",
        value: drafting.prompt / drafting.completion,
        goal: "(reported)",
        met: true,
      },
      { figure: "peak RSS, MiB", value: peakRss / 2 ** 20, goal: "(reported)", met: true },
      { figure: "drafting wall time, s", value: wall / 1000, goal: "(reported)", met: true },
    ];
  } finally {
    clearInterval(sampler);
    await engine.close();
    fake.stop();
  }
}

/**
 * A 50-scene, 60,000-word novel against the realistic model (short prose, cut-offs, chatter, streams;
 * refusals off, since they wait for the author): how close the book lands to its target, how many calls
 * a scene takes, and how much of this process's own CPU time each model call costs.
 */
async function benchRealistic(): Promise<Row[]> {
  const fake = await startEndpoint(["--realistic", "--faults", '{"rateRefusal":0}']);
  const engine = startTestEngine(fake.url, { FOLIO_MAX_ACTIVE_PROJECTS: "1", FOLIO_CONTEXT_TOKENS: "32768" });
  try {
    const cpu = process.cpuUsage();
    const id = await engine.create({
      premise: "A lighthouse keeper's daughter finds the lamp signals a ship that sank a century ago.",
      scenes: 50,
      words: 60_000,
      autoApprove: true,
    });
    await engine.scheduler.start();
    await eventually(() => engine.ended(id), 900_000, 50);
    const used = process.cpuUsage(cpu);
    const count = (where: ReturnType<typeof sql>) =>
      engine.db
        .select({ n: sql<number>`count(*)` })
        .from(llmCalls)
        .where(and(eq(llmCalls.projectId, id), where))
        .get()!.n;
    const words = engine.db
      .select({ w: sql<number>`sum(words)` })
      .from(scenes)
      .where(eq(scenes.projectId, id))
      .get()!.w;
    const draftingCalls = count(
      sql`${llmCalls.stage} = 'drafting' and ${llmCalls.purpose} in ('scene', 'scene-part', 'expand', 'scene-plan')`,
    );
    const calls = count(sql`1 = 1`);
    const ownMs = (used.user + used.system) / 1000 / calls;
    return [
      {
        figure: "realistic model: book words ÷ target",
        value: words / 60_000,
        goal: "0.9–1.1",
        met: Math.abs(words / 60_000 - 1) <= 0.1,
      },
      {
        figure: "realistic model: drafting calls per scene",
        value: draftingCalls / 50,
        goal: "≤ 1.6",
        met: draftingCalls / 50 <= 1.6,
      },
      { figure: "bot's own CPU ms per model call", value: ownMs, goal: "≤ 25", met: ownMs <= 25 },
    ];
  } finally {
    await engine.close();
    fake.stop();
  }
}

async function main() {
  const rows = await benchDrafting();
  rows.push(...(await benchRealistic()));
  const exportTimes = await benchExport();
  const budgetMs = 1000;
  rows.push(
    {
      figure: `docx export of ${exportTimes.words.toLocaleString("en-US")} words ÷ 1 s`,
      value: exportTimes.docxMs / budgetMs,
      goal: "≪ 1",
      met: exportTimes.docxMs < budgetMs / 2,
    },
    {
      figure: "epub export ÷ 1 s",
      value: exportTimes.epubMs / budgetMs,
      goal: "≪ 1",
      met: exportTimes.epubMs < budgetMs / 2,
    },
    {
      figure: "markdown export ÷ 1 s",
      value: exportTimes.markdownMs / budgetMs,
      goal: "≪ 1",
      met: exportTimes.markdownMs < budgetMs / 2,
    },
    {
      figure: "validation (stage 12's checks, repetition included) ÷ 1 s",
      value: exportTimes.validateMs / budgetMs,
      goal: "≪ 1",
      met: exportTimes.validateMs < budgetMs / 2,
    },
  );
  const pictures = await benchPictures();
  const perBook = pictures.arcMs + pictures.shapeMs + pictures.coverMs;
  rows.push({
    figure: `pictures per book (arc ${pictures.arcMs} ms, shape ${pictures.shapeMs} ms, cover ${pictures.coverMs} ms) ÷ 1 s`,
    value: perBook / budgetMs,
    // Drawn at three moments (the outline gate, the delivery, an EPUB), never together.
    goal: "< 1",
    met: perBook < budgetMs,
  });
  const start = benchStart();
  rows.push({
    figure: `folio status start-up, bundled ${start.bundledMs} ms ÷ through tsx ${start.sourceMs} ms`,
    value: start.bundledMs / start.sourceMs,
    goal: "≤ 0.6",
    met: start.bundledMs <= start.sourceMs * 0.6,
  });
  rows.push(...benchLint());
  // Last: a thousand novels leave this process's heap larger for whatever is measured after them.
  rows.push(...(await benchMany()));
  const width = Math.max(...rows.map((r) => r.figure.length));
  for (const r of rows) {
    console.log(
      `${r.figure.padEnd(width)}  ${r.value.toFixed(3).padStart(10)}  goal ${r.goal.padEnd(10)} ${r.met ? "ok" : "MISSED"}`,
    );
  }
  process.exitCode = rows.every((r) => r.met) ? 0 : 1;
}

await main();
