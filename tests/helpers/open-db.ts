/**
 * Opens the database at argv[2] (a file, or a Postgres URL) at the moment argv[3] (ms since the epoch),
 * and reads from it: a process starting after an upgrade.
 */
import { closeDatabase, openDatabase } from "../../db/client";
import { rowsOf } from "./rows";

const [path, at] = process.argv.slice(2);
const wait = Number(at) - Date.now();
// A process that was not ready in time would not race the other: the test must know.
if (wait <= 0) process.stdout.write("late ");
else {
  await new Promise((r) => setTimeout(r, wait - 20));
  // The last milliseconds spun away, so the processes start within a fraction of one.
  while (Date.now() < Number(at)) {}
}
try {
  const db = openDatabase(path!);
  await rowsOf(db, "select count(*) as n from projects");
  await closeDatabase(db);
  process.stdout.write("opened\n");
} catch (error) {
  process.stdout.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
