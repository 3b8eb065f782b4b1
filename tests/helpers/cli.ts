import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { sharedDatabaseFor } from "./postgres";

export const ROOT = resolve(import.meta.dirname, "../..");
const FOLIO_BIN = join(ROOT, "bin/folio.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix = "folio-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Environment for a CLI run against a fake endpoint: short leases and retries so tests stay quick. */
export function cliEnv(
  llmUrl: string,
  dbPath: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const { OPENAI_API_KEY: _k, OPENAI_BASE_URL: _u, ...inherited } = process.env;
  return {
    ...inherited,
    OPENAI_BASE_URL: llmUrl,
    OPENAI_API_KEY: "test-key",
    ...storeEnv(dbPath),
    FOLIO_LEASE_MS: "1500",
    FOLIO_RETRY_BASE_MS: "50",
    FOLIO_POLL_MS: "200",
    FOLIO_LLM_TIMEOUT_MS: "60000",
    FOLIO_LLM_IDLE_TIMEOUT_MS: "5000",
    ...extra,
  };
}

/** Starts `folio …` as a child process with the given environment and working directory. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): ChildProcess & { output: CliResult } {
  return withOutput(
    spawn(process.execPath, [FOLIO_BIN, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] }),
  );
}

/** The child with what it has written so far, kept as it arrives. */
function withOutput(child: ChildProcess): ChildProcess & { output: CliResult } {
  const output: CliResult = { code: null, signal: null, stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => {
    output.stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output.stderr += d.toString();
  });
  return Object.assign(child, { output });
}

/**
 * Starts `folio …` on a pseudo-terminal (script(1)), as an author at a terminal runs it: its standard
 * input is a TTY, so it asks at its gates, and what is written to the child's stdin is typed there
 * (Ctrl-C is "\x03"). Everything the terminal shows, stdout and stderr, lands in `output.stdout`.
 */
export function startCliInTerminal(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): ChildProcess & { output: CliResult } {
  const quote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, FOLIO_BIN, ...args].map(quote).join(" ");
  return withOutput(
    spawn("script", ["-qfec", command, "/dev/null"], {
      env: { ...env, TERM: "dumb", COLUMNS: "100" },
      cwd,
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
}

export function waitForExit(child: ChildProcess & { output: CliResult }): Promise<CliResult> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit({ ...child.output, code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("close", (code, signal) => resolveExit({ ...child.output, code, signal }));
  });
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<CliResult> {
  return waitForExit(startCli(args, env, cwd));
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The store of the SQLite file at `dbPath`, as a process's environment names it: the file, or, with
 * the suite on Postgres (`npm run test:postgres`), the database standing for it on the suite's cluster.
 */
export function storeEnv(dbPath: string): { FOLIO_DB_PATH: string } | { DATABASE_URL: string } {
  const postgres = sharedDatabaseFor(dbPath);
  return postgres ? { DATABASE_URL: postgres.url } : { FOLIO_DB_PATH: dbPath };
}

/** What `openDatabase` opens for the store of `dbPath` (see `storeEnv`). */
export function storeOf(dbPath: string): string {
  return sharedDatabaseFor(dbPath)?.url ?? dbPath;
}

/**
 * Rows of a query on the database of a process that is running (or was killed), read-only; none while
 * the file or the table is not there yet. With the suite on Postgres, on the database standing for
 * the file (write the query in SQL both understand).
 */
export function peekRows<T>(dbPath: string, query: string): T[] {
  const postgres = sharedDatabaseFor(dbPath);
  if (postgres) return postgres.rows<T>(query);
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(query).all() as T[];
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

/** The error a call that must fail failed with; a call that succeeds fails the test. */
export function failure<E = unknown>(call: Promise<unknown>): Promise<E> {
  return call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error as E,
  );
}
