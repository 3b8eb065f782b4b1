import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type PgTable, getTableConfig as pgConfig } from "drizzle-orm/pg-core";
import { type SQLiteTable, getTableConfig as sqliteConfig } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as sqlite from "../db/schema";
import * as postgres from "../db/schema.pg";
import { ROOT } from "./helpers/cli";
import { startCluster } from "./helpers/postgres";

/** A table's shape as both dialects can state it: columns, keys, indexes and references. */
interface Shape {
  name: string;
  columns: { name: string; notNull: boolean; primary: boolean; hasDefault: boolean }[];
  indexes: { name: string; unique: boolean; on: string[] }[];
  references: { columns: string[]; to: string; onDelete: string | undefined }[];
}

function shapeOf(config: ReturnType<typeof sqliteConfig> | ReturnType<typeof pgConfig>): Shape {
  return {
    name: config.name,
    columns: config.columns
      // A primary key's default is the dialect's own (SQLite numbers any INTEGER PRIMARY KEY itself).
      .map((c) => ({
        name: c.name,
        notNull: c.notNull,
        primary: c.primary,
        hasDefault: !c.primary && c.hasDefault,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    indexes: config.indexes
      .map((i) => ({
        name: i.config.name ?? "",
        unique: i.config.unique ?? false,
        on: i.config.columns.map((c) => ("name" in c ? String(c.name) : "?")),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    references: config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return {
        columns: ref.columns.map((c) => c.name),
        to: ref.foreignTable[
          Symbol.for("drizzle:Name") as unknown as keyof typeof ref.foreignTable
        ] as string,
        onDelete: fk.onDelete,
      };
    }),
  };
}

const tablesOf = <T>(module: Record<string, unknown>, is: (v: unknown) => v is T) =>
  Object.values(module).filter(is);
const isTable = (v: unknown): v is SQLiteTable =>
  typeof v === "object" && v !== null && Symbol.for("drizzle:IsDrizzleTable") in v;

describe("the Postgres schema", () => {
  it("has the same tables, columns, keys, indexes and references as the SQLite schema", () => {
    const isPg = (v: unknown): v is PgTable =>
      typeof v === "object" && v !== null && Symbol.for("drizzle:IsDrizzleTable") in v;
    const sqliteShapes = tablesOf(sqlite, isTable)
      .map((t) => shapeOf(sqliteConfig(t)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const pgShapes = tablesOf(postgres, isPg)
      .map((t) => shapeOf(pgConfig(t)))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(sqliteShapes.map((s) => s.name)).toEqual([
      "chapter_notes",
      "chapters",
      "discord_chapters",
      "discord_threads",
      "llm_calls",
      "projects",
      "revision_results",
      "scene_versions",
      "scenes",
      "stage_outputs",
      "story_state",
    ]);
    expect(pgShapes).toEqual(sqliteShapes);
  });
});

describe("the Postgres migrations", () => {
  it("create every table on a real PostgreSQL, with SQLite's defaults", () => {
    const cluster = startCluster();
    try {
      for (const file of readdirSync(join(ROOT, "db/migrations-pg"))
        .filter((f) => f.endsWith(".sql"))
        .sort())
        cluster.psqlFile(join(ROOT, "db/migrations-pg", file));
      const tables = cluster
        .psql("select table_name from information_schema.tables where table_schema = 'public' order by 1")
        .trim()
        .split("\n");
      expect(tables).toEqual(
        tablesOf(sqlite, isTable)
          .map((t) => sqliteConfig(t).name)
          .sort(),
      );
      // A row gets what SQLite gives it: a running project at its first stage, stamped in milliseconds.
      const before = Date.now();
      const row = cluster
        .psql(
          "insert into projects (owner_id, premise, scene_count, target_words) values ('u', 'p', 3, 2000) returning id, status, stage, auto_approve, created_at",
        )
        .trim()
        .split("|");
      expect(row.slice(0, 4)).toEqual(["1", "running", "concept", "f"]);
      expect(Number(row[4])).toBeGreaterThanOrEqual(before - 1_000);
      expect(Number(row[4])).toBeLessThanOrEqual(Date.now() + 1_000);
    } finally {
      cluster.stop();
    }
  });
});
