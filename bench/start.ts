/**
 * How long `folio status` takes to start and answer, from its bundle (`bin/folio.js`, as shipped)
 * against the same sources through tsx's loader (`FOLIO_FROM_SOURCE=1`), measured side by side: the
 * median of 5 runs of each, alternating, after one of each to warm the disk cache and the bundle. Run
 * alone with `npx tsx bench/start.ts`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = resolve(import.meta.dirname, "..");

export function benchStart(runs = 5): { bundledMs: number; sourceMs: number } {
  const dir = mkdtempSync(join(tmpdir(), "folio-bench-start-"));
  const once = (fromSource: boolean) => {
    const started = performance.now();
    const result = spawnSync(process.execPath, [join(ROOT, "bin/folio.js"), "status"], {
      cwd: dir,
      env: { ...process.env, FOLIO_DB_PATH: join(dir, "folio.db"), FOLIO_FROM_SOURCE: fromSource ? "1" : "" },
      encoding: "utf8",
    });
    if (result.status !== 0) throw new Error(`folio status failed: ${result.stderr}`);
    return performance.now() - started;
  };
  once(false);
  once(true);
  const bundled: number[] = [];
  const source: number[] = [];
  for (let k = 0; k < runs; k++) {
    bundled.push(once(false));
    source.push(once(true));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { bundledMs: Math.round(median(bundled)), sourceMs: Math.round(median(source)) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { bundledMs, sourceMs } = benchStart();
  console.log(`folio status: ${bundledMs} ms from its bundle, ${sourceMs} ms through tsx`);
}
