import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway PostgreSQL cluster of Debian's `postgresql` package (which `.ci/run` installs). */
export interface Cluster {
  /** Runs SQL through psql and returns its unaligned, tuples-only output. */
  psql(sql: string): string;
  /** Runs a file of SQL through psql, stopping at the first error. */
  psqlFile(path: string): void;
  stop(): void;
}

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

/** Starts a cluster in a new temporary directory, listening only on a Unix socket there. */
export function startCluster(): Cluster {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "folio-pg-"));
  if (process.getuid?.() === 0) chownSync(dir, Number(spawnSync("id", ["-u", "postgres"]).stdout), 0);
  const data = join(dir, "data");
  run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "folio", "--no-sync"]);
  const port = String(40_000 + Math.floor(Math.random() * 20_000));
  run(join(bin, "pg_ctl"), [
    "-D",
    data,
    "-w",
    "-l",
    join(dir, "log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=off`,
    "start",
  ]);
  const psql = (args: string[]) => {
    const result = spawnSync(
      join(bin, "psql"),
      ["-h", dir, "-p", port, "-U", "folio", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", ...args],
      { encoding: "utf8" },
    );
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
    return result.stdout;
  };
  return {
    psql: (sql) => psql(["-c", sql]),
    psqlFile: (path) => void psql(["-f", path]),
    stop: () => void run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]),
  };
}
