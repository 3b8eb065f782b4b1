import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { cliEnv, eventually, peekRows, startCli, tempDir, waitForExit } from "./helpers/cli";
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
    // A lease far longer than the test: the restart must not wait for the dead process's to run out.
    const env = cliEnv(fake.url, join(dir, "folio.db"), { FOLIO_LEASE_MS: "120000" });
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

    const [dead] = peekRows<{ owner: string; until: number }>(
      dbPath,
      "select lease_owner as owner, lease_expires_at as until from projects",
    );
    expect(dead!.until).toBeGreaterThan(Date.now() + 60_000);
    const calls = fake.log.length;
    const resuming = startCli(["resume"], env, dir);
    // The killed process's lease is taken back at once (its owner, on this host, no longer exists):
    // the first model call comes long before the lease would have run out, without a word of waiting.
    await eventually(() => fake.log.length > calls, 30_000, 20);
    expect(Date.now()).toBeLessThan(dead!.until);
    const resumed = await waitForExit(resuming);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).not.toContain("is held by");
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
