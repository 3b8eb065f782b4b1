import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { type SQL, sql } from "drizzle-orm";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type pg from "pg";
import { listen, openPostgres, WORK_CHANNEL } from "./postgres";
import * as schema from "./schema";

/**
 * The store: SQLite (a file, the default) or Postgres (`DATABASE_URL`). Queries are written once, in
 * drizzle's query builder, and awaited; what differs by dialect (transactions, claiming, waking
 * workers, health) is here and in `db/postgres.ts`. The type is SQLite's builder, whose queries are
 * the ones both dialects share; a query must be awaited, never run with SQLite's own `.get()`/`.all()`.
 */
export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };
/** What a transaction's body queries through: the same surface as the database's. */
export type Tx = Db;

/** The Postgres databases opened here, with their pool and URL. */
const postgres = new WeakMap<object, { pool: pg.Pool; url: string }>();

export const isPostgresUrl = (target: string) => /^postgres(ql)?:\/\//i.test(target);

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), "migrations");

/**
 * Opens (creating when needed) the database with WAL, foreign keys and a busy timeout, and applies
 * pending migrations, so every process that touches the file sees the same schema.
 */
export function openDatabase(path: string): Db {
  if (isPostgresUrl(path)) {
    const { db, pool } = openPostgres(path);
    postgres.set(db, { pool, url: path });
    return db as unknown as Db;
  }
  if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma(`busy_timeout = ${BUSY_MS}`);
  switchToWal(sqlite);
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("synchronous = NORMAL");
  reuseStatements(sqlite);
  migrateExclusively(sqlite);
  return drizzle(sqlite, { schema });
}

/** How long a statement waits for another process's lock before it gives up. */
const BUSY_MS = 5_000;

/**
 * Switches the file to WAL. On a new file several processes starting together each read its header,
 * then ask to write it; SQLite answers all but one "database is locked" at once rather than wait (a
 * reader waiting on a reader would deadlock), so the losers try again until the busy timeout.
 */
function switchToWal(sqlite: Database.Database): void {
  const until = Date.now() + BUSY_MS;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      sqlite.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      const busy = String((error as { code?: unknown }).code).startsWith("SQLITE_BUSY");
      if (!busy || Date.now() >= until) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}

/**
 * Applies the migrations newer than the last one recorded, as drizzle's migrator does and into its
 * table, but reading what was applied inside an EXCLUSIVE transaction: two processes starting
 * together after an upgrade (a bot and a command) take turns, and the second finds nothing to do.
 */
function migrateExclusively(sqlite: Database.Database): void {
  const migrations = readMigrationFiles({ migrationsFolder });
  sqlite.exec(
    'CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)',
  );
  const apply = sqlite.transaction(() => {
    const last = sqlite
      .prepare('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1')
      .get() as { created_at: number | string } | undefined;
    for (const migration of migrations) {
      if (last && Number(last.created_at) >= migration.folderMillis) continue;
      for (const statement of migration.sql) if (statement.trim()) sqlite.exec(statement);
      sqlite
        .prepare('INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)')
        .run(migration.hash, migration.folderMillis);
    }
  });
  apply.exclusive();
}

/** Statements kept for reuse, by their SQL: the queries the pipeline runs on every scene. */
const STATEMENTS_KEPT = 256;

/**
 * Drizzle prepares every query afresh; the same few dozen run again and again (every scene, every
 * model call), so each is prepared once and reused. A statement that returns rows is handed out in
 * its default (object) mode, since drizzle switches some to raw mode when it runs them.
 */
function reuseStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const kept = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = kept.get(source);
    if (statement === undefined || statement.busy) {
      statement = prepare(source);
      if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value!);
      kept.set(source, statement);
    } else if (statement.reader) statement.raw(false);
    return statement;
  }) as Database.Database["prepare"];
}

/** Null when the database answers a query, else why not (the health check's "db"). */
export async function databaseProblem(db: Db): Promise<string | null> {
  try {
    const pool = postgres.get(db)?.pool;
    if (pool) await pool.query("select 1");
    else db.$client.prepare("select 1").get();
    return null;
  } catch (error) {
    return `the database does not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function closeDatabase(db: Db): Promise<void> {
  const pool = postgres.get(db)?.pool;
  if (pool) {
    if (!pool.ended) await pool.end();
  } else if (db.$client.open) db.$client.close();
}

/**
 * The claim's read of a candidate: on Postgres, the row is locked for the claim's transaction, and a
 * row another claim has locked is passed over (`FOR UPDATE SKIP LOCKED`), so claims run side by side
 * without waiting on each other. SQLite's claims take the database's write lock instead.
 */
export function lockedForClaim<Q>(db: Db, query: Q): Q {
  if (!postgres.has(db)) return query;
  return (query as unknown as { for(strength: "update", config: { skipLocked: boolean }): Q }).for("update", {
    skipLocked: true,
  });
}

/**
 * Serialises, until the transaction ends, every transaction that takes the same owner's lock (counting
 * an author's projects before adding one). SQLite's transactions hold the write lock already; Postgres
 * takes an advisory lock on the owner.
 */
export async function lockOwner(tx: Tx, ownerId: string): Promise<void> {
  if (!postgres.has(tx) && !insidePostgres.getStore()) return;
  await (tx as unknown as { execute(q: SQL): Promise<unknown> }).execute(
    sql`select pg_advisory_xact_lock(hashtext(${ownerId}))`,
  );
}

/** Tells every worker there is new work (`NOTIFY`); on SQLite, where workers share a host, they poll. */
export async function notifyWork(db: Db): Promise<void> {
  const pool = postgres.get(db)?.pool;
  if (pool) await pool.query(`notify ${WORK_CHANNEL}`);
}

/** Calls `onWork` when another process says there is new work; returns how to stop listening. */
export function listenForWork(
  db: Db,
  onWork: () => void,
  onError: (error: unknown) => void,
): () => Promise<void> {
  const url = postgres.get(db)?.url;
  return url ? listen(url, onWork, onError) : async () => {};
}

/** Each connection's transactions, one after another: the tail of the line. */
const lines = new WeakMap<Database.Database, Promise<void>>();
/** The connection whose transaction the current async context is inside. */
const inside = new AsyncLocalStorage<Database.Database>();
/** The Postgres transaction the current async context is inside. */
const insidePostgres = new AsyncLocalStorage<Tx>();
type PgDb = { transaction<T>(body: (tx: unknown) => Promise<T>): Promise<T> };

/**
 * Runs `body` in one transaction: everything it writes is committed together, or nothing is. It
 * takes the write lock first (IMMEDIATE), so two processes can never both act on one snapshot; in
 * this process, transactions wait their turn. A transaction begun inside another is part of it.
 *
 * The body should only query: while it awaits, other work of this process may run, and a write it
 * makes outside any transaction lands in this one's (kept when it commits, which is every time but
 * for an error).
 */
export async function inTransaction<T>(db: Db, body: (tx: Tx) => Promise<T>): Promise<T> {
  if (postgres.has(db)) {
    const outer = insidePostgres.getStore();
    if (outer) return body(outer);
    return (db as unknown as PgDb).transaction((tx) =>
      insidePostgres.run(tx as unknown as Tx, () => body(tx as unknown as Tx)),
    );
  }
  const sqlite = db.$client;
  if (inside.getStore() === sqlite) return body(db);
  const before = lines.get(sqlite) ?? Promise.resolve();
  let done!: () => void;
  const turn = new Promise<void>((resolve) => {
    done = resolve;
  });
  const tail = before.then(() => turn);
  lines.set(sqlite, tail);
  await before;
  try {
    return await inside.run(sqlite, async () => {
      sqlite.exec("BEGIN IMMEDIATE");
      try {
        const result = await body(db);
        sqlite.exec("COMMIT");
        return result;
      } catch (error) {
        if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
        throw error;
      }
    });
  } finally {
    done();
    if (lines.get(sqlite) === tail) lines.delete(sqlite);
  }
}
