import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";

/**
 * A query's rows as objects, on SQLite and Postgres alike (the suite runs on both): `?` stands for each
 * parameter in turn. Write it in the SQL both share, and quote camelCase aliases (`as "projectId"`):
 * Postgres folds unquoted names to lower case.
 */
export async function rowsOf<T>(db: Db, text: string, ...params: unknown[]): Promise<T[]> {
  const parts = text.split("?");
  const query = parts
    .slice(1)
    .reduce<SQL>((built, part, i) => sql`${built}${params[i]}${sql.raw(part)}`, sql.raw(parts[0]!));
  const runner = db as unknown as { execute?: (q: SQL) => Promise<{ rows: T[] }> };
  if (typeof runner.execute === "function") return (await runner.execute(query)).rows;
  // SQLite answers a statement that returns no rows only when it is run as one.
  if (!/^\s*(select|with)\b|\breturning\b/i.test(text)) {
    db.run(query);
    return [];
  }
  return db.all(query) as T[];
}
