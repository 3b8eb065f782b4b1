import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { stageOutputs } from "../db/schema";
import { approve } from "../src/pipeline/actions";
import { getProject } from "../src/pipeline/store";
import { eventually, runCli } from "./helpers/cli";
import { firstSceneAt, firstScenesAt, perTest } from "./helpers/engine";

const world = perTest();

/** Nine authors, one of them with three novels: eleven short books started in the same moment. */
const AUTHORS = ["ada", "bo", "cy", "di", "ed", "flo", "gus", "hal"].map((a) => [a]);
AUTHORS.push(["ivy", "ivy", "ivy"]);
const premise = (owner: string, k: number) =>
  `${owner.toUpperCase()}-${k}: a keeper of clocks in a drowned town counts the hours the water took.`;

/**
 * The process's model slots are the only limit: every running project takes its turn for them, author
 * by author, so the last author to see a first scene waits little longer than the first.
 */
describe("many authors at once", () => {
  it("shares the model slots fairly between authors and keeps them full", async () => {
    // Calls of 150 ms: the store's round trips between one call of a project and its next (a few
    // milliseconds each on Postgres, in this process's busy event loop) stay small beside a call, as
    // they are beside a real model's seconds.
    const { fake, engine } = await world.start({ seed: 81, latencyMs: 150 }, { FOLIO_LLM_CONCURRENCY: "4" });
    const started = Date.now();
    const slotsBefore = engine.llm.limit.slotMs;
    const ids: { owner: string; id: number }[] = [];
    for (const owners of AUTHORS) {
      for (const [k, owner] of owners.entries()) {
        ids.push({
          owner,
          id: await engine.create(
            { premise: premise(owner, k), scenes: 3, words: 2400, autoApprove: true },
            owner,
          ),
        });
      }
    }
    const novels = ids.map(({ id }) => id);
    const firstScenes = () => firstScenesAt(engine, novels);
    await eventually(async () => (await firstScenes()).size === ids.length, 120_000);
    const busy = (engine.llm.limit.slotMs - slotsBefore) / (4 * (Date.now() - started));
    // Each author's wait for their first drafted scene, whichever of their novels it is in, counted in
    // the model's work: the calls it was asked for before that scene was saved. All eleven novels were
    // created in the same moment, so this is the wait in time on a machine that does nothing else, and
    // a neighbour's load (another test starting a database) does not move it.
    const callsBefore = (at: number) => fake.log.filter((e) => e.at <= at).length;
    const sceneAts = await firstScenes();
    const waits = AUTHORS.map((owners) =>
      Math.min(...ids.filter((p) => p.owner === owners[0]).map(({ id }) => callsBefore(sceneAts.get(id)!))),
    );
    // The slowest author's first scene within 1.5× the fastest's.
    expect(Math.max(...waits) / Math.min(...waits)).toBeLessThanOrEqual(1.5);
    // The four slots were in use nearly all the time there was work.
    expect(busy).toBeGreaterThanOrEqual(0.9);
    // Up to the first scenes, the author with three novels had about one author's share of the calls.
    const calls = fake.log.filter((e) => e.at <= Math.max(...ids.map(({ id }) => sceneAts.get(id)!)));
    const ivy = calls.filter((e) => /IVY-\d:/.test(e.prompt)).length;
    expect(ivy / calls.length).toBeLessThanOrEqual(1.5 / AUTHORS.length);
    await eventually(
      async () =>
        (await Promise.all(ids.map(({ id }) => getProject(engine.db, id)))).every(
          (p) => p?.status === "done",
        ),
      180_000,
    );
  }, 240_000);

  it("does not send a project back to the end of the line when its outline is approved", async () => {
    // Calls of 400 ms: the first two novels' first stage is still in flight when the queue has formed
    // (which takes longer on Postgres, whose claims and reads are round trips).
    const { fake, engine } = await world.start({ seed: 82, latencyMs: 400 }, { FOLIO_LLM_CONCURRENCY: "2" });
    const first = await engine.create(
      { premise: premise("approved", 0), scenes: 3, words: 2400, autoApprove: false },
      "approver",
    );
    await eventually(async () => (await getProject(engine.db, first))?.stage === "outline_gate", 60_000);
    // Ten other authors' novels queue up for the two slots, all started in the same moment.
    const others = await Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        engine.create(
          { premise: premise(`other${k}`, 0), scenes: 3, words: 2400, autoApprove: true },
          `other${k}`,
        ),
      ),
    );
    await eventually(() => engine.llm.limit.queued >= 6, 30_000, 5);
    const approvedAt = fake.log.length;
    expect((await approve(engine.db, first)).ok).toBe(true);
    engine.scheduler.wake();
    await eventually(async () => (await firstSceneAt(engine, first)) !== undefined, 60_000);
    const sceneAt = (await firstSceneAt(engine, first))!;
    // When each waiting novel's first planning stage was done (never, yet, for some).
    const plannedAt = await Promise.all(
      others.map(
        async (id) =>
          (
            await engine.db
              .select({ at: stageOutputs.createdAt })
              .from(stageOutputs)
              .where(and(eq(stageOutputs.projectId, id), eq(stageOutputs.stage, "concept")))
              .limit(1)
          )[0]?.at ?? Number.POSITIVE_INFINITY,
      ),
    );
    // Its first scene came before half of the novels already waiting had their first stage done: it
    // had waited longer than they had, so it was not put behind them.
    expect(plannedAt.filter((at) => at <= sceneAt).length).toBeLessThan(others.length / 2);
    // And the calls after the approval bear that out: its first came before most of theirs.
    const after = fake.log.slice(approvedAt);
    const mine = after.findIndex((e) => /APPROVED-0:/.test(e.prompt));
    const othersFirst = others.map((_, k) =>
      after.findIndex((e) => new RegExp(`OTHER${k}-0:`).test(e.prompt)),
    );
    expect(othersFirst.filter((at) => at >= 0 && at < mine).length).toBeLessThan(others.length / 2);
  }, 120_000);

  it("writes a queued project's place down, so folio status in another process shows it", async () => {
    const { engine } = await world.start({ seed: 83, latencyMs: 800 }, { FOLIO_LLM_CONCURRENCY: "1" });
    // Started as a host starts it: with its timers, the queue's report among them.
    await engine.scheduler.start();
    const ids: number[] = [];
    for (const owner of ["jo", "kit", "lu", "mo"]) {
      ids.push(
        await engine.create({ premise: premise(owner, 0), scenes: 3, words: 2400, autoApprove: true }, owner),
      );
    }
    await eventually(
      async () =>
        (await Promise.all(ids.map((id) => getProject(engine.db, id)))).some((p) => p?.queueAhead !== null),
      30_000,
      20,
    );
    const status = await runCli(
      ["status"],
      {
        ...process.env,
        // The engine's store: its Postgres database when the suite runs on Postgres, else its file.
        ...(engine.config.DATABASE_URL
          ? { DATABASE_URL: engine.config.DATABASE_URL }
          : { FOLIO_DB_PATH: join(engine.dir, "folio.db") }),
      },
      engine.dir,
    );
    expect(status.code, status.stderr).toBe(0);
    // Whatever stage each has reached by the time the command has started, a waiting one says so.
    expect(status.stdout).toMatch(/^\d+\t[^\t]+ — Queued — (\d+ novels? ahead|next in line)\t/m);
  }, 120_000);
});
