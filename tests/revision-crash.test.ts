import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { cliEnv, eventually, peekRows, runCli, startCli, tempDir, waitForExit } from "./helpers/cli";

const SCENES = 16;

/** SIGKILL while Self-Refinement is half done, then `folio resume`. */
describe("crash during revision", () => {
  let fake: FakeLlm;
  afterAll(async () => {
    await fake?.close();
  });

  it("resumes the stage at the scenes not yet revised, never revising one twice", async () => {
    fake = await startFakeLlm({ seed: 13, latencyMs: 60 });
    const dir = tempDir();
    const dbPath = join(dir, "folio.db");
    const env = cliEnv(fake.url, dbPath, { FOLIO_REFINE_CONCURRENCY: "2" });
    const refined = () =>
      peekRows<{ scene_number: number }>(
        dbPath,
        "select scene_number from revision_results where step = 'refine'",
      ).map((r) => r.scene_number);
    const writer = startCli(
      [
        "write",
        "--premise",
        "A night-train conductor collects passengers' forgotten dreams.",
        "--scenes",
        `${SCENES}`,
        "--words",
        "16000",
        "--yes",
        "--out",
        "book.docx",
      ],
      env,
      dir,
    );
    await eventually(() => refined().length >= 5, 120_000, 20);
    writer.kill("SIGKILL");
    await waitForExit(writer);
    const before = refined();
    expect(before.length).toBeLessThan(SCENES);

    const resumed = await runCli(["resume"], env, dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("Project 1 is done");
    expect(refined().sort((a, b) => a - b)).toEqual(Array.from({ length: SCENES }, (_, i) => i + 1));

    const requests = new Map<number, number>();
    for (const e of fake.log) {
      const m = /^Revise scene (\d+): .* — apply the editor's critique$/.exec(e.firstLine);
      if (m) requests.set(Number(m[1]), (requests.get(Number(m[1])) ?? 0) + 1);
    }
    for (const scene of before) expect(requests.get(scene), `scene ${scene}`).toBe(1);
    expect(requests.size).toBe(SCENES);
    // At most the scenes in flight at the kill (the refine concurrency) were asked for twice.
    expect([...requests.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(2);
  }, 240_000);
});
