import { type PgTable, getTableConfig as pgConfig } from "drizzle-orm/pg-core";
import { type SQLiteTable, getTableConfig as sqliteConfig } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as sqlite from "../db/schema";
import * as postgres from "../db/schema.pg";

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

describe("the Postgres schema", () => {
  it("has the same tables, columns, keys, indexes and references as the SQLite schema", () => {
    const isSqlite = (v: unknown): v is SQLiteTable =>
      typeof v === "object" && v !== null && Symbol.for("drizzle:IsDrizzleTable") in v;
    const isPg = (v: unknown): v is PgTable =>
      typeof v === "object" && v !== null && Symbol.for("drizzle:IsDrizzleTable") in v;
    const sqliteShapes = tablesOf(sqlite, isSqlite)
      .map((t) => shapeOf(sqliteConfig(t)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const pgShapes = tablesOf(postgres, isPg)
      .map((t) => shapeOf(pgConfig(t)))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(sqliteShapes.map((s) => s.name)).toEqual([
      "chapters",
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
