/**
 * Processes starting after an upgrade, one per line of standard input: says "ready", then for each
 * line "<database> <moment>" (a file or a Postgres URL, and ms since the epoch) opens that database at
 * that moment, reads from it, closes it and says "opened" (or "late", or "failed: why").
 */
import { createInterface } from "node:readline";
import { closeDatabase, openDatabase } from "../../db/client";
import { rowsOf } from "./rows";

process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [path, moment] = line.trim().split(" ");
  const wait = Number(moment) - Date.now();
  // A process that was not ready in time would not race the others: the test must know.
  if (wait <= 0) {
    process.stdout.write("late\n");
    continue;
  }
  if (wait > 20) await new Promise((r) => setTimeout(r, wait - 20));
  // The last milliseconds spun away, so the processes start within a fraction of one.
  while (Date.now() < Number(moment)) {}
  try {
    const db = openDatabase(path!);
    await rowsOf(db, "select count(*) as n from projects");
    await closeDatabase(db);
    process.stdout.write("opened\n");
  } catch (error) {
    process.stdout.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
