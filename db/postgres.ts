import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";

/**
 * The Postgres driver. Queries are written once, against `db/schema.ts`'s tables; the Postgres
 * database has the same tables, columns and names (`db/schema.pg.ts` and its migrations, kept in step
 * by a test), so drizzle's node-postgres driver runs the same queries on it. Postgres hands back what
 * SQLite would: 64-bit integers and numerics as numbers (every count and millisecond time fits), and
 * JSON as its text, which the tables' JSON columns parse.
 */

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), "migrations-pg");

/** Postgres type ids whose values are read differently from node-postgres's defaults. */
const INT8 = 20;
const NUMERIC = 1700;
const JSON_TEXT = 114;
const JSONB = 3802;

// Set for the process (drizzle reads node-postgres's own parsers on every query): nothing else here
// talks to Postgres.
pg.types.setTypeParser(INT8, (value: string) => Number(value));
pg.types.setTypeParser(NUMERIC, (value: string) => Number(value));
pg.types.setTypeParser(JSON_TEXT, (value: string) => value);
pg.types.setTypeParser(JSONB, (value: string) => value);

/** A key for the advisory lock that lets one process at a time bring the schema up to date. */
const MIGRATION_LOCK = 7_263_541;

/**
 * A pool whose queries wait until the schema is up to date: the database opens at once, as SQLite's
 * does, and the first query is answered once the migrations have been applied (or fails with them).
 */
class MigratedPool extends pg.Pool {
  ready: Promise<void> = Promise.resolve();

  // biome-ignore lint/suspicious/noExplicitAny: node-postgres's query() has a dozen overloads.
  override query(...args: any[]): any {
    const callback = typeof args.at(-1) === "function" ? args.pop() : undefined;
    const answer = this.ready.then(() => super.query(...(args as [string])));
    if (!callback) return answer;
    answer.then(
      (result) => callback(undefined, result),
      (error: unknown) => callback(error),
    );
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above, for connect()'s callback form.
  override connect(...args: any[]): any {
    if (args.length > 0) return super.connect(args[0]);
    return this.ready.then(() => super.connect());
  }
}

export type PostgresDb = ReturnType<typeof drizzle<Record<string, never>, pg.Pool>>;

/** Opens a pool on `url`, bringing the schema up to date before its first query is answered. */
export function openPostgres(url: string): { db: PostgresDb; pool: pg.Pool } {
  // As many connections as a busy worker uses at once: a model slot's unit, its digests, the renewals.
  const pool = new MigratedPool({ connectionString: url, max: 20 });
  pool.ready = migrate(url);
  // A pooled connection that drops (a restarted server) is replaced on the next query.
  pool.on("error", () => {});
  return { db: drizzle(pool), pool };
}

/**
 * Applies the migrations newer than the last one recorded, in drizzle's own table, under an advisory
 * lock: processes starting together after an upgrade take turns, and the second finds nothing to do.
 */
async function migrate(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query("create schema if not exists drizzle");
    await client.query(
      "create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)",
    );
    const { rows } = await client.query<{ created_at: string }>(
      "select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1",
    );
    const last = rows[0] ? Number(rows[0].created_at) : undefined;
    for (const migration of readMigrationFiles({ migrationsFolder })) {
      if (last !== undefined && last >= migration.folderMillis) continue;
      await client.query("begin");
      try {
        for (const statement of migration.sql) if (statement.trim()) await client.query(statement);
        await client.query("insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2)", [
          migration.hash,
          migration.folderMillis,
        ]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
    }
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
}

/** The channel workers listen on for new work. */
export const WORK_CHANNEL = "folio_work";

/**
 * Calls `onWork` whenever a process says there is new work (`NOTIFY folio_work`), on a connection of
 * its own; if that connection drops, it is opened again (polling covers the gap).
 */
export function listen(
  url: string,
  onWork: () => void,
  onError: (error: unknown) => void,
): () => Promise<void> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const open = async () => {
    const next = new pg.Client({ connectionString: url });
    next.on("notification", () => onWork());
    next.on("error", (error) => {
      onError(error);
      if (client === next) client = undefined;
      if (!stopped) retry = setTimeout(() => void open().catch(onError), 1_000);
    });
    await next.connect();
    await next.query(`listen ${WORK_CHANNEL}`);
    if (stopped) await next.end();
    else client = next;
  };
  void open().catch((error: unknown) => {
    onError(error);
    if (!stopped) retry = setTimeout(() => void open().catch(onError), 1_000);
  });
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
