import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../db/client";
import { createProject, parseNewProject } from "../src/pipeline/actions";
import { cliEnv, peekRows, startCli, storeEnv, storeOf, tempDir, waitForExit } from "./helpers/cli";
import { startWorld } from "./helpers/discord";

const PREMISES = [
  "A glassblower's son breathes a storm into a bottle and cannot let it out.",
  "Two lighthouse keepers on opposite shores signal a war neither of them started.",
  "A beekeeper's hives swarm toward the house of a man who has not died yet.",
];

/**
 * The bot and two command-line processes on one database file: every project is worked by one process
 * at a time, each scene is paid for once, all of them finish, and every lease is let go at the end.
 */
describe("one database, several hosts", () => {
  it("finishes every project once while a bot and two command lines share the file", async () => {
    const dir = tempDir("folio-hosts-");
    const dbPath = join(dir, "folio.db");
    const db = openDatabase(storeOf(dbPath));
    for (const premise of PREMISES) {
      const parsed = parseNewProject({ premise, scenes: 4, words: 3200, autoApprove: true });
      if (!parsed.ok) throw new Error(parsed.message);
      await createProject(db, parsed.value, { ownerId: "cli" });
    }
    await closeDatabase(db);
    const world = await startWorld({ env: storeEnv(dbPath), llm: { seed: 51, latencyMs: 15 } });
    try {
      const start = await world.discord.sendCommand({
        user: world.author.id,
        command: "novel",
        subcommand: "start",
        options: {
          premise: "A cartographer maps a city that moves one street each night.",
          scenes: 4,
          words: 3200,
          auto_approve: true,
        },
      });
      await start.waitForAck();
      // Two command lines resume the same three projects at once.
      const env = cliEnv(world.llm.url, dbPath);
      const clis = [startCli(["resume", "--yes"], env, dir), startCli(["resume", "--yes"], env, dir)];
      const results = await Promise.all(clis.map(waitForExit));
      for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0);
      await world.discord.waitFor(
        () =>
          peekRows<{ n: number }>(dbPath, "select count(*) n from projects where status = 'done'")[0]?.n ===
          4,
        90_000,
      );
      const projects = peekRows<{ id: number; host: string; status: string; lease_owner: string | null }>(
        dbPath,
        "select id, host, status, lease_owner from projects order by id",
      );
      expect(projects.map((p) => p.host).sort()).toEqual(["cli", "cli", "cli", "discord"]);
      // The bot lets go of its lease when it stops; the command lines have let go of theirs already.
      for (const p of projects.filter((x) => x.host === "cli"))
        expect(p).toMatchObject({ status: "done", lease_owner: null });
      // Each scene of each book drafted once and paid for once.
      const drafted = peekRows<{ project_id: number; scene_number: number; n: number }>(
        dbPath,
        "select project_id, scene_number, count(*) n from scene_versions where stage = 'drafting' group by project_id, scene_number",
      );
      expect(drafted).toHaveLength(16);
      for (const d of drafted) expect(d.n, `project ${d.project_id} scene ${d.scene_number}`).toBe(1);
      const paid = peekRows<{ project_id: number; scene_number: number; n: number }>(
        dbPath,
        "select project_id, scene_number, count(*) n from llm_calls where stage = 'drafting' and purpose = 'scene' and outcome = 'ok' group by project_id, scene_number",
      );
      expect(paid).toHaveLength(16);
      for (const p of paid) expect(p.n, `project ${p.project_id} scene ${p.scene_number}`).toBe(1);
      // Each command line saw all three of its books to the end, whichever process wrote them.
      const said = results.map((r) => r.stdout);
      expect(said.join("\n").match(/Project \d is done/g)?.length).toBe(6);
    } finally {
      await world.stop();
    }
    const leases = peekRows<{ n: number }>(
      dbPath,
      "select count(*) n from projects where lease_owner is not null",
    );
    expect(leases[0]!.n).toBe(0);
  }, 240_000);
});
