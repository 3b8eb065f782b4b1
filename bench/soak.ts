/**
 * `npm run soak`: one novel written by the command line, killed with SIGKILL at 20 moments spread over
 * all its stages and resumed each time. It checks that the book completes with every scene, that each
 * scene was drafted once, and that no request was paid for twice unless the unit it belonged to was in
 * flight at a kill; then prints the numbers.
 */
import { join } from "node:path";
import { type FakeLlmLogEntry, startFakeLlm } from "../tests/fakes/llm-server";
import { cliEnv, eventually, peekRows, runCli, startCli, tempDir, waitForExit } from "../tests/helpers/cli";
import { mulberry32 } from "../tests/helpers/random";

const KILLS = 20;
const NOVEL = [
  "--premise",
  "A night-ferry pilot finds her crossings take longer each time, as if the river were growing.",
  "--scenes",
  "12",
  "--words",
  "12000",
  "--yes",
];

interface Kill {
  at: number;
  stage: string;
  startedAt: number;
}

/** A scene number a request is about, from its first line ("Draft scene 5 of", "Revise scene 5:"). */
const sceneOf = (e: FakeLlmLogEntry) => Number(/scene (\d+)/i.exec(e.firstLine)?.[1] ?? Number.NaN);

async function main(): Promise<void> {
  const fake = await startFakeLlm({ seed: 71, latencyMs: 25 });
  try {
    // How many requests the novel takes without a kill: the kills are spread over that many.
    const calm = tempDir("folio-soak-calm-");
    const clean = await runCli(["write", ...NOVEL], cliEnv(fake.url, join(calm, "folio.db")), calm);
    if (clean.code !== 0) throw new Error(`the novel does not finish without kills: ${clean.stderr}`);
    const total = fake.log.length;
    const base = fake.log.length;
    const plan = killPlan(join(calm, "folio.db"), mulberry32(7));

    const dir = tempDir("folio-soak-");
    const dbPath = join(dir, "folio.db");
    const env = cliEnv(fake.url, dbPath);
    const stageNow = () =>
      peekRows<{ stage: string }>(dbPath, "select stage from projects where id = 1")[0]?.stage;
    const kills: Kill[] = [];
    let startedAt = Date.now();
    let cli = startCli(["write", ...NOVEL], env, dir);
    // Where each stage's requests began in the log, across every process.
    const stageStart = new Map<string, number>();
    for (const planned of plan) {
      // In the planned stage, once it has made the planned number of requests; a stage the book has
      // already passed is skipped.
      const due = await eventually(
        () => {
          if (cli.exitCode !== null) return "ended";
          const stage = stageNow();
          if (stage === undefined) return false;
          if (!stageStart.has(stage)) stageStart.set(stage, fake.log.length);
          if (plan.order.indexOf(stage) > plan.order.indexOf(planned.stage)) return "passed";
          if (stage !== planned.stage) return false;
          return fake.log.length - stageStart.get(stage)! >= planned.after ? "now" : false;
        },
        120_000,
        2,
      );
      if (due === "ended") break;
      if (due === "passed") continue;
      cli.kill("SIGKILL");
      await waitForExit(cli);
      kills.push({ at: Date.now(), stage: planned.stage, startedAt });
      startedAt = Date.now();
      cli = startCli(["resume", "--yes"], env, dir);
    }
    const last = await waitForExit(cli);
    const ours = fake.log.slice(base);
    const report = checkBook(dbPath, ours, kills, last.code, total);
    for (const line of report.lines) console.log(line);
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await fake.close();
  }
}

function checkBook(
  dbPath: string,
  log: FakeLlmLogEntry[],
  kills: Kill[],
  exitCode: number | null,
  calmRequests: number,
): { ok: boolean; lines: string[] } {
  const problems: string[] = [];
  const [project] = peekRows<{ status: string; lease: string | null; scenes: number }>(
    dbPath,
    "select status, lease_owner as lease, scene_count as scenes from projects where id = 1",
  );
  if (exitCode !== 0) problems.push(`the last resume exited with ${exitCode}`);
  if (project?.status !== "done") problems.push(`the project is ${project?.status}, not done`);
  if (project?.lease) problems.push(`the lease is still held by ${project.lease}`);
  const written = peekRows<{ n: number }>(dbPath, "select count(*) n from scenes where text is not null")[0]!
    .n;
  if (written !== project?.scenes) problems.push(`${written} of ${project?.scenes} scenes have text`);
  const twice = peekRows<{ scene: number; n: number }>(
    dbPath,
    "select scene_number scene, count(*) n from scene_versions where stage = 'drafting' group by scene_number having n > 1",
  );
  for (const t of twice) problems.push(`scene ${t.scene} was drafted ${t.n} times`);

  // A request sent again must have been lost to a kill: first sent by a process that was then killed,
  // with nothing committed for its scene (or, for a whole-book stage, for the book) between its answer
  // and the kill.
  const commits = peekRows<{ scene: number | null; at: number }>(
    dbPath,
    `select scene_number scene, created_at at from scene_versions
     union all select scene_number, created_at from revision_results
     union all select null, created_at from stage_outputs`,
  );
  const seen = new Map<string, FakeLlmLogEntry>();
  let repaid = 0;
  let repaidTokens = 0;
  for (const entry of log) {
    const first = seen.get(entry.prompt);
    if (!first) {
      seen.set(entry.prompt, entry);
      continue;
    }
    repaid += 1;
    repaidTokens += entry.promptTokens + entry.completionTokens;
    const kill = kills.find((k) => first.at >= k.startedAt && first.at <= k.at && entry.at > k.at);
    const scene = sceneOf(first);
    const committedAfter = commits.some(
      (c) =>
        kill &&
        c.at > first.at + first.durationMs &&
        c.at <= kill.at &&
        (Number.isNaN(scene) ? c.scene === null : c.scene === scene),
    );
    if (!kill || committedAfter)
      problems.push(
        `paid twice: "${first.firstLine.slice(0, 60)}" (request ${first.seq}, again ${entry.seq})`,
      );
  }
  const tokens = log.reduce((n, e) => n + e.promptTokens + e.completionTokens, 0);
  const byStage = new Map<string, number>();
  for (const k of kills) byStage.set(k.stage, (byStage.get(k.stage) ?? 0) + 1);
  const lines = [
    `kills: ${kills.length} (${[...byStage].map(([s, n]) => `${s} ${n}`).join(", ")})`,
    `requests: ${log.length} against ${calmRequests} without kills; sent again after a kill: ${repaid} (${((100 * repaidTokens) / tokens).toFixed(1)}% of tokens)`,
    `scenes written: ${written} of ${project?.scenes}; project ${project?.status}; lease ${project?.lease ?? "released"}`,
    ...(problems.length > 0
      ? problems.map((p) => `PROBLEM ${p}`)
      : ["ok: the book is complete, nothing finished was paid for twice"]),
  ];
  return { ok: problems.length === 0, lines };
}

/**
 * Where to kill: once in each stage that calls the model, the rest in stages drawn by how many calls
 * they make, each after a random number of that stage's requests (by the calm run's calls, in order).
 */
function killPlan(
  calmDb: string,
  random: () => number,
): { stage: string; after: number }[] & { order: string[] } {
  const stages = peekRows<{ stage: string }>(calmDb, "select stage from llm_calls order by id").map(
    (r) => r.stage,
  );
  const order = [...new Set(stages)];
  const calls = (stage: string) => stages.filter((s) => s === stage).length;
  const picks = [...order];
  while (picks.length < KILLS) picks.push(stages[Math.floor(random() * stages.length)]!);
  const plan = picks
    .map((stage) => ({ stage, after: Math.floor(random() * Math.max(1, calls(stage) - 1)) }))
    .sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage) || a.after - b.after);
  return Object.assign(plan, { order });
}

await main();
