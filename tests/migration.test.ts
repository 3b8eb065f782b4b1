import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../db/client";
import {
  attachThread,
  owedNotices,
  ownersProjects,
  projectInThread,
  setNotice,
  threadOf,
} from "../src/discord/threads";
import { createProject, parseNewProject } from "../src/pipeline/actions";
import { loadPlan } from "../src/pipeline/store";
import { transition } from "../src/pipeline/transition";
import { peekRows, ROOT, storeOf, tempDir } from "./helpers/cli";
import { suiteOnPostgres } from "./helpers/postgres";

/** Migrations up to and including `lastTag`, as a folder drizzle's migrator can apply. */
function migrationsUpTo(lastTag: string): string {
  const folder = join(tempDir("folio-migrations-"), "migrations");
  cpSync(join(ROOT, "db/migrations"), folder, { recursive: true });
  const journalPath = join(folder, "meta/_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  const last = journal.entries.findIndex((e) => e.tag === lastTag);
  expect(last).toBeGreaterThanOrEqual(0);
  journal.entries = journal.entries.slice(0, last + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

/** A database as the previous release left it: Discord state on the project row, live work in it. */
function previousReleaseDatabase(): string {
  const path = join(tempDir("folio-upgrade-"), "folio.db");
  const sqlite = new Database(path);
  sqlite.pragma("foreign_keys = ON");
  migrate(drizzle(sqlite), { migrationsFolder: migrationsUpTo("0003_notice_message") });
  sqlite.exec(`
    insert into projects (id, owner_id, guild_id, channel_id, thread_id, premise, scene_count, target_words,
                          status, stage, progress_message_id, progress_stage, notice_message_id, title)
    values (1, 'u1', 'g1', 'c1', 't1', 'A premise of some length.', 3, 3000, 'waiting', 'outline_gate',
            'm-progress', 'Scene Drafting', 'm-notice', 'The Discord Book'),
           (2, 'cli', null, null, null, 'Another premise here.', 3, 3000, 'needs_attention', 'drafting',
            null, null, null, 'The Terminal Book'),
           (3, 'u1', 'g1', 'c1', 't3', 'A third premise to store.', 3, 3000, 'needs_attention', 'refine',
            null, null, null, 'Owed a Notice');
    insert into stage_outputs (project_id, stage, data) values (1, 'concept', '{"title":"The Discord Book"}');
    insert into chapters (project_id, number, title) values (1, 1, 'One'), (2, 1, 'One');
    insert into scenes (project_id, number, chapter, title, card, target_words, text, words)
      values (1, 1, 1, 'S1', '{}', 1000, 'Once.', 1), (2, 1, 1, 'S1', '{}', 1000, 'Twice.', 1);
    insert into scene_versions (project_id, scene_number, stage, text, words) values (2, 1, 'drafting', 'Twice.', 1);
    insert into llm_calls (project_id, stage, purpose, model, latency_ms, outcome) values (2, 'drafting', 'scene', 'm', 5, 'ok');
    insert into revision_results (project_id, step, scene_number, outcome) values (2, 'refine', 1, 'revised');
  `);
  sqlite.close();
  return path;
}

const count = (db: ReturnType<typeof openDatabase>, table: string) =>
  (db.$client.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;

const onPostgres = suiteOnPostgres();
/** Rounds of the migration race: many on SQLite, where one round in seven or so lost it before openDatabase tried again. */
const ROUNDS = onPostgres ? 12 : 60;

describe("upgrading a database in place", () => {
  // The layout upgraded from here was SQLite's alone: Postgres began at the layout it upgrades to.
  it.skipIf(onPostgres)(
    "moves Discord state to its own table, names each project's host, and keeps every row",
    async () => {
      const path = previousReleaseDatabase();
      const db = openDatabase(path);
      try {
        const columns = (db.$client.prepare("pragma table_info(projects)").all() as { name: string }[]).map(
          (c) => c.name,
        );
        expect(columns).toContain("host");
        for (const moved of [
          "guild_id",
          "channel_id",
          "thread_id",
          "progress_message_id",
          "notice_message_id",
        ])
          expect(columns).not.toContain(moved);
        const hosts = db.$client.prepare("select id, host from projects order by id").all();
        expect(hosts).toEqual([
          { id: 1, host: "discord" },
          { id: 2, host: "cli" },
          { id: 3, host: "discord" },
        ]);
        expect(await threadOf(db, 1)).toMatchObject({
          guildId: "g1",
          channelId: "c1",
          threadId: "t1",
          progressMessageId: "m-progress",
          progressStage: "Scene Drafting",
          noticeMessageId: "m-notice",
        });
        expect(await threadOf(db, 2)).toBeUndefined();
        expect((await projectInThread(db, "t3"))?.title).toBe("Owed a Notice");
        expect((await ownersProjects(db, "u1", "g1")).map((p) => p.id)).toEqual([3, 1]);
        // The gate message already posted is not owed again; the one never posted still is.
        expect((await owedNotices(db)).map((p) => p.id)).toEqual([3]);
        // Nothing the previous release stored was lost on the way.
        expect((await loadPlan(db, 1)).concept).toEqual({ title: "The Discord Book" });
        expect([
          count(db, "chapters"),
          count(db, "scenes"),
          count(db, "scene_versions"),
          count(db, "llm_calls"),
          count(db, "revision_results"),
        ]).toEqual([2, 2, 1, 1, 1]);
        expect(db.$client.pragma("foreign_key_check")).toEqual([]);
      } finally {
        await closeDatabase(db);
      }
      // Opening it again applies nothing twice.
      const again = openDatabase(path);
      expect(count(again, "discord_threads")).toBe(2);
      await closeDatabase(again);
    },
  );
});

describe("the messages a Discord project is owed", () => {
  it("owes a gate message per state, and a late post for an older state never covers a newer one", async () => {
    const db = openDatabase(storeOf(join(tempDir("folio-notices-"), "folio.db")));
    try {
      const request = parseNewProject({ premise: "A premise long enough to start with." });
      if (!request.ok) throw new Error(request.message);
      const { id } = await createProject(
        db,
        request.value,
        { ownerId: "u1", host: "discord" },
        async (tx, p) => {
          await attachThread(tx, p.id, { guildId: "g1", channelId: "c1", threadId: "t1" });
        },
      );
      const move = async (from: "running" | "waiting", to: "running" | "waiting") => {
        const moved = await transition(db, id, { from: [from], to: { status: to } });
        if (!moved.ok) throw new Error(`no move from ${from}`);
        return moved.project.statusVersion;
      };
      const first = await move("running", "waiting");
      expect((await owedNotices(db)).map((p) => p.id)).toEqual([id]);
      await setNotice(db, id, "m-first", first);
      expect(await owedNotices(db)).toEqual([]);
      await move("waiting", "running");
      const second = await move("running", "waiting");
      expect(second).toBeGreaterThan(first);
      expect((await owedNotices(db)).map((p) => p.id)).toEqual([id]);
      await setNotice(db, id, "m-second", second);
      // The first gate's post finishing late must not take the second one's place.
      await setNotice(db, id, "m-first-again", first);
      expect(await threadOf(db, id)).toMatchObject({ noticeMessageId: "m-second", noticeVersion: second });
      expect(await owedNotices(db)).toEqual([]);
    } finally {
      await closeDatabase(db);
    }
  });

  it("applies each migration once when two processes open a fresh database at the same moment", async () => {
    const migrations = onPostgres ? "db/migrations-pg" : "db/migrations";
    const journal = JSON.parse(readFileSync(join(ROOT, migrations, "meta/_journal.json"), "utf8")) as {
      entries: unknown[];
    };
    // Three processes, loaded once, open fresh databases together round after round. On SQLite the
    // losers of switching a new file to WAL are told "database is locked" at once, without waiting,
    // so the rounds are many and cheap.
    const children = [0, 1, 2].map(() =>
      spawn(process.execPath, ["--import", "tsx", join(ROOT, "tests/helpers/open-db.ts")], {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
    // Each process's next line; a process that says nothing for 30 s fails the test rather than hang it.
    const next = async () =>
      Promise.race([
        Promise.all(lines.map(async (l) => String((await l.next()).value))),
        sleep(30_000, undefined, { ref: false }).then(() => {
          throw new Error("a process opening the store said nothing for 30 s");
        }),
      ]);
    try {
      expect(await next()).toEqual(["ready", "ready", "ready"]);
      for (let round = 0, late = 0; round < ROUNDS; round++) {
        const file = join(tempDir("folio-race-"), "folio.db");
        const target = storeOf(file);
        const at = Date.now() + 150;
        for (const child of children) child.stdin.write(`${target} ${at}\n`);
        const said = await next();
        // A process the machine ran too late to race the others: that round is run again, on a new file.
        if (said.includes("late") && !said.some((s) => s.startsWith("failed")) && ++late <= 10) {
          round--;
          continue;
        }
        expect(said, `round ${round}`).toEqual(["opened", "opened", "opened"]);
        const [applied] = peekRows<{ n: number }>(
          file,
          `select count(*) as n from ${onPostgres ? "drizzle." : ""}"__drizzle_migrations"`,
        );
        expect(applied?.n).toBe(journal.entries.length);
        if (!onPostgres) expect(peekRows(file, "pragma journal_mode")).toEqual([{ journal_mode: "wal" }]);
      }
    } finally {
      for (const child of children) child.stdin.end();
      const exited = Promise.all(
        children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)),
      );
      // One stuck opening the store does not outlive the test.
      if ((await Promise.race([exited, sleep(5_000, "stuck", { ref: false })])) === "stuck")
        for (const child of children) child.kill("SIGKILL");
    }
  }, 120_000);
});
