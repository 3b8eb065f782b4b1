/**
 * Many novels in one process: peak memory with 10, 100 and 1,000 in flight (engine only, small novels,
 * each with a call answered), and how evenly twelve authors starting together wait for a first scene.
 */
import { sql } from "drizzle-orm";
import { llmCalls } from "../db/schema";
import { eventually } from "../tests/helpers/cli";
import { firstSceneAt, startTestEngine } from "../tests/helpers/engine";
import { startEndpoint } from "./endpoint";
import type { Row } from "./run";

const premise = (k: number) => `Novel ${k}: a ferry pilot finds the river one crossing longer every night.`;

/** Peak RSS, in MiB, while `n` novels, one per author, run until every one of them has had a call answered. */
async function peakWith(url: string, n: number): Promise<number> {
  const engine = startTestEngine(
    url,
    { FOLIO_MAX_ACTIVE_PROJECTS: "5000", FOLIO_LLM_CONCURRENCY: "64" },
    { pollMs: 200, shutdownGraceMs: 200, leaseMs: 30_000 },
  );
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    for (let k = 0; k < n; k++)
      await engine.create({ premise: premise(k), scenes: 3, words: 2400, autoApprove: true }, `author${k}`);
    await engine.scheduler.start();
    // In flight: every novel has had a model call answered.
    const past = () =>
      engine.db
        .select({ n: sql<number>`count(distinct ${llmCalls.projectId})` })
        .from(llmCalls)
        .get()!.n;
    await eventually(() => past() >= n, 600_000, 100);
    return Math.max(peak, process.memoryUsage().rss) / 2 ** 20;
  } finally {
    clearInterval(sampler);
    await engine.close();
  }
}

/** Slowest ÷ fastest author's time to their first drafted scene, twelve authors starting together. */
async function firstSceneSpread(url: string): Promise<number> {
  const engine = startTestEngine(url, { FOLIO_LLM_CONCURRENCY: "4" }, { pollMs: 200, shutdownGraceMs: 200 });
  try {
    const ids: number[] = [];
    for (let k = 0; k < 12; k++)
      ids.push(
        await engine.create({ premise: premise(k), scenes: 3, words: 2400, autoApprove: true }, `writer${k}`),
      );
    const started = Date.now();
    await engine.scheduler.start();
    const firsts = () => Promise.all(ids.map((id) => firstSceneAt(engine, id)));
    await eventually(async () => (await firsts()).every((at) => at !== undefined), 600_000, 20);
    const waits = (await firsts()).map((at) => at! - started);
    return Math.max(...waits) / Math.min(...waits);
  } finally {
    await engine.close();
  }
}

export async function benchMany(): Promise<Row[]> {
  const fake = await startEndpoint();
  try {
    const spread = await firstSceneSpread(fake.url);
    const [ten, hundred, thousand] = [
      await peakWith(fake.url, 10),
      await peakWith(fake.url, 100),
      await peakWith(fake.url, 1000),
    ];
    const perNovel = ((thousand - hundred) * 1024) / 900;
    return [
      {
        figure: "twelve authors: slowest ÷ fastest wait for a first scene",
        value: spread,
        goal: "≤ 1.5",
        met: spread <= 1.5,
      },
      { figure: "peak RSS with 10 novels in flight, MiB", value: ten, goal: "(reported)", met: true },
      { figure: "peak RSS with 100 novels in flight, MiB", value: hundred, goal: "(reported)", met: true },
      {
        figure: "peak RSS with 1,000 novels in flight, MiB",
        value: thousand,
        goal: "≤ 1024",
        met: thousand <= 1024,
      },
      {
        figure: "RSS per novel from 100 to 1,000 in flight, KiB",
        value: perNovel,
        goal: "(reported)",
        met: true,
      },
    ];
  } finally {
    fake.stop();
  }
}
