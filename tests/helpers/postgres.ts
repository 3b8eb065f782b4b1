import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway PostgreSQL cluster of Debian's `postgresql` package (which `.ci/run` installs). */
export interface Cluster {
  /** Runs SQL through psql and returns its unaligned, tuples-only output. */
  psql(sql: string): string;
  /** Runs a file of SQL through psql, stopping at the first error. */
  psqlFile(path: string): void;
  /** Creates an empty database and returns its URL (over TCP on 127.0.0.1, as an application connects). */
  createDatabase(name: string): string;
  /** A query's rows in `database`, as objects; none while the database or table is not there yet. */
  rows<T>(database: string, query: string): T[];
  stop(): void;
  place: Place;
}

/** The variable that hands the suite's cluster to the test processes (`npm run test:postgres`). */
const SHARED = "FOLIO_TEST_POSTGRES";

/** Starts the cluster the whole suite runs on, for vitest's global setup; returns how to stop it. */
export function startSharedCluster(): () => void {
  const cluster = startCluster();
  process.env[SHARED] = JSON.stringify(cluster.place);
  return () => cluster.stop();
}

/** Whether the suite runs on Postgres (`npm run test:postgres`). */
export function suiteOnPostgres(): boolean {
  return !!process.env[SHARED];
}

/**
 * With the suite on Postgres (`npm run test:postgres`), a new empty database on its cluster, as a
 * `DATABASE_URL`; undefined when the suite runs on SQLite.
 */
export function sharedTestDatabase(): string | undefined {
  const shared = process.env[SHARED];
  if (!shared) return undefined;
  return attach(JSON.parse(shared) as Place).createDatabase(
    `t${process.pid}_${randomBytes(4).toString("hex")}`,
  );
}

/**
 * With the suite on Postgres, the database that stands for the SQLite file at `path` in this test
 * process, made on the suite's cluster the first time it is asked for: every process a test starts on
 * that "file" shares it, and the test reads it with `rows`. Undefined when the suite runs on SQLite.
 */
export function sharedDatabaseFor(path: string): { url: string; rows<T>(query: string): T[] } | undefined {
  const shared = process.env[SHARED];
  if (!shared) return undefined;
  const cluster = attach(JSON.parse(shared) as Place);
  let name = standIns.get(path);
  if (name === undefined) {
    name = `f${process.pid}_${randomBytes(4).toString("hex")}`;
    cluster.createDatabase(name);
    standIns.set(path, name);
  }
  const database = name;
  return {
    url: `postgres://folio@127.0.0.1:${cluster.place.port}/${database}`,
    rows: <T>(query: string) => cluster.rows<T>(database, query),
  };
}

const standIns = new Map<string, string>();

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb")));
  if (!dir) throw new Error("PostgreSQL is not installed: .ci/run installs Debian's postgresql package");
  return dir;
}

function run(command: string, args: string[]): string {
  // initdb and the server refuse to run as root: as root, they run as the package's postgres user.
  const [file, argv] =
    process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
  const result = spawnSync(file, argv, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Starts a cluster in a new temporary directory, listening on a Unix socket there and on 127.0.0.1. */
export function startCluster(): Cluster {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "folio-pg-"));
  if (process.getuid?.() === 0) chownSync(dir, Number(spawnSync("id", ["-u", "postgres"]).stdout), 0);
  const data = join(dir, "data");
  run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "folio", "--no-sync"]);
  // Above Linux's range for ephemeral ports (32768-60999), where every port-0 server in the tests
  // lands; another cluster on the same port is tried again elsewhere.
  let port = "";
  for (let attempt = 1; ; attempt++) {
    port = String(61_000 + Math.floor(Math.random() * 4_000));
    try {
      run(join(bin, "pg_ctl"), [
        "-D",
        data,
        "-w",
        "-l",
        join(dir, "log"),
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
        "start",
      ]);
      break;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
  return attach({ bin, dir, data, port });
}

/** Where a running cluster is: enough for another process to use it (see `sharedTestDatabase`). */
interface Place {
  bin: string;
  dir: string;
  data: string;
  port: string;
}

function attach({ bin, dir, data, port }: Place): Cluster {
  const psql = (args: string[], database = "postgres") => {
    const result = spawnSync(
      join(bin, "psql"),
      ["-h", dir, "-p", port, "-U", "folio", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", ...args],
      { encoding: "utf8" },
    );
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
    return result.stdout;
  };
  return {
    psql: (sql) => psql(["-c", sql]),
    psqlFile: (path) => void psql(["-f", path]),
    rows: <T>(database: string, query: string) => {
      try {
        const json = psql(["-c", `select coalesce(json_agg(q), '[]') from (${query}) q`], database);
        return JSON.parse(json) as T[];
      } catch {
        return [];
      }
    },
    createDatabase: (name) => {
      psql(["-c", `create database "${name}"`]);
      return `postgres://folio@127.0.0.1:${port}/${name}`;
    },
    stop: () => void run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]),
    place: { bin, dir, data, port },
  };
}

/**
 * The store a test engine gets: its own Postgres database when the suite runs on Postgres, unless the
 * test names its store itself (a file several processes share); else nothing, for SQLite's file.
 */
export function storeFor(env: Record<string, string>): Record<string, string> {
  if (env.FOLIO_DB_PATH !== undefined || env.DATABASE_URL !== undefined) return {};
  const url = sharedTestDatabase();
  return url ? { DATABASE_URL: url } : {};
}
