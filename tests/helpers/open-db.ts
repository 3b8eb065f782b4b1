/**
 * A process starting after an upgrade: loads, says "ready", reads a moment (ms since the epoch) from its
 * standard input, and at that moment opens the database at argv[2] (a file, or a Postgres URL) and reads
 * from it.
 */
import { once } from "node:events";
import { closeDatabase, openDatabase } from "../../db/client";
import { rowsOf } from "./rows";

const [path] = process.argv.slice(2);
process.stdout.write("ready\n");
const [line] = (await once(process.stdin, "data")) as [Buffer];
const at = Number(line.toString().trim());
const wait = at - Date.now();
// A process that was not ready in time would not race the others: the test must know.
if (wait <= 0) process.stdout.write("late ");
else {
  await new Promise((r) => setTimeout(r, wait - 20));
  // The last milliseconds spun away, so the processes start within a fraction of one.
  while (Date.now() < at) {}
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
process.stdin.destroy();
