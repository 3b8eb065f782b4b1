import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { cliEnv, peekRows, runCli, tempDir } from "./helpers/cli";

/** `folio versions` lists what stage produced each text of a scene; `folio rollback` brings one back. */
describe("folio versions and rollback", () => {
  let fake: FakeLlm;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await startFakeLlm({
      seed: 17,
      faults: { spoilProse: [{ match: "Revise scene 2: ", kind: "half" }] },
    });
    dir = tempDir();
    env = cliEnv(fake.url, join(dir, "folio.db"));
    const written = await runCli(
      [
        "write",
        "--premise",
        "A mapmaker's daughter inherits a coastline that moves.",
        "--scenes",
        "4",
        "--words",
        "4000",
        "--yes",
      ],
      env,
      dir,
    );
    expect(written.code, written.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await fake.close();
  });

  it("lists every version with its stage, marking the current one and the rejected ones", async () => {
    const listed = await runCli(["versions", "1", "1"], env, dir);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ {2}\d+\tdrafting\t\d+ words\t/);
    expect(lines.filter((l) => l.startsWith("*"))).toHaveLength(1);
    expect(lines.map((l) => l.split("\t")[1])).toEqual(
      expect.arrayContaining(["refine", "passes.dialogue", "passes.pacing", "passes.sensory"]),
    );
    const rejected = await runCli(["versions", "1", "2"], env, dir);
    expect(rejected.stdout).toMatch(/\trejected: too_short/);
  });

  it("rolls a scene back to its drafted text as a new version", async () => {
    const rows = <T>(query: string) => peekRows<T>(join(dir, "folio.db"), query);
    const [drafted] = rows<{ id: number; text: string }>(
      "select id, text from scene_versions where scene_number = 1 and stage = 'drafting'",
    );
    if (!drafted) throw new Error("scene 1 has no drafted version");
    const rolled = await runCli(["rollback", "1", "1", String(drafted.id)], env, dir);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`Scene 1 now has the text of version ${drafted.id} (drafting).`);
    expect(rows<{ text: string }>("select text from scenes where number = 1")[0]?.text).toBe(drafted.text);
    expect(
      rows("select stage, note from scene_versions where scene_number = 1 order by id desc limit 1")[0],
    ).toEqual({
      stage: "rollback",
      note: `rolled back to version ${drafted.id}`,
    });
    const again = await runCli(["rollback", "1", "1", String(drafted.id)], env, dir);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(`Scene 1 already has the text of version ${drafted.id}.`);
    const wrong = await runCli(["rollback", "1", "1", "99999"], env, dir);
    expect(wrong.stderr.trim()).toBe("Scene 1 has no version 99999; list them with: folio versions 1 1");
  });

  it("reads, exports and rolls back without model credentials: those commands call no model", async () => {
    const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...noModel } = env;
    const calls = fake.log.length;
    const status = await runCli(["status"], noModel, dir);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^1\tdone\t/);
    const versions = await runCli(["versions", "1", "3"], noModel, dir);
    expect(versions.code, versions.stderr).toBe(0);
    const drafted = versions.stdout.split("\n").find((l) => l.includes("\tdrafting\t"))!;
    const rolled = await runCli(["rollback", "1", "3", drafted.trim().split("\t")[0]!], noModel, dir);
    expect(rolled.code, rolled.stderr).toBe(0);
    const exported = await runCli(["export", "1", "--format", "markdown", "--out", "book.md"], noModel, dir);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(join(dir, "book.md"));
    // A command that does call the model still says what is missing.
    const resumed = await runCli(["resume", "1"], noModel, dir);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain("OPENAI_API_KEY is missing");
    expect(fake.log.length).toBe(calls);
  });
});
