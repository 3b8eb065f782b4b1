import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { cliEnv, eventually, peekRows, runCli, startCli, tempDir, waitForExit } from "./helpers/cli";
import { readDocxWithPandoc } from "./helpers/pandoc";

const SCENES = 20;

/** SIGKILL in the middle of drafting, then `folio resume`: nothing lost, nothing drafted twice. */
describe("crash during drafting", () => {
  let fake: FakeLlm;
  let dir: string;
  let draftedBeforeKill: number[];

  beforeAll(async () => {
    fake = await startFakeLlm({ seed: 11, latencyMs: 40 });
    dir = tempDir();
  });

  afterAll(async () => {
    await fake.close();
  });

  it("resumes at the first unfinished scene and completes the novel", async () => {
    const env = cliEnv(fake.url, join(dir, "folio.db"));
    const writer = startCli(
      [
        "write",
        "--premise",
        "Two rival clockmakers share a single stolen hour.",
        "--scenes",
        `${SCENES}`,
        "--words",
        "20000",
        "--yes",
        "--out",
        "book.docx",
      ],
      env,
      dir,
    );
    const dbPath = join(dir, "folio.db");
    await eventually(() => drafted(dbPath).length >= 6, 90_000, 20);
    writer.kill("SIGKILL");
    const killed = await waitForExit(writer);
    expect(killed.signal).toBe("SIGKILL");
    draftedBeforeKill = drafted(dbPath);
    expect(draftedBeforeKill.length).toBeLessThan(SCENES);

    const resumed = await runCli(["resume"], env, dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("Project 1 is done");

    const all = drafted(dbPath);
    expect(all).toEqual(Array.from({ length: SCENES }, (_, i) => i + 1));
    const book = readDocxWithPandoc(join(dir, "book.docx"));
    expect(book.words).toBeGreaterThan(20_000 * 0.85);
  }, 180_000);

  it("never asks for a scene that was already saved; at most the one in flight is asked again", () => {
    const requests = new Map<number, number>();
    for (const entry of fake.log) {
      const match = /^Draft scene (\d+) of/.exec(entry.firstLine);
      if (match) requests.set(Number(match[1]), (requests.get(Number(match[1])) ?? 0) + 1);
    }
    for (const scene of draftedBeforeKill) expect(requests.get(scene), `scene ${scene}`).toBe(1);
    const repeated = [...requests].filter(([, n]) => n > 1).map(([scene]) => scene);
    expect(repeated.length).toBeLessThanOrEqual(1);
    for (const scene of repeated) expect(draftedBeforeKill).not.toContain(scene);
    expect(requests.size).toBe(SCENES);
  });
});

function drafted(dbPath: string): number[] {
  return peekRows<{ number: number }>(
    dbPath,
    "select number from scenes where text is not null order by number",
  ).map((r) => r.number);
}
