/** Files the command line writes: the book and its report, where the author asked for them. */
import { renameSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Project } from "../../db/schema";
import type { Engine } from "../app";
import type { ExportFormat } from "../export/index";
import { renderExport } from "../pipeline/manuscript";

/**
 * A path as the author typed it. `npm run folio` moves to the package root and keeps the caller's
 * directory in INIT_CWD; any other way of starting the command runs where the author is.
 */
export function fromCaller(path: string): string {
  const viaNpmScript = process.env.npm_lifecycle_event === "folio" && process.env.INIT_CWD;
  return resolve(viaNpmScript ? process.env.INIT_CWD! : process.cwd(), path);
}

/** Writes the book and, beside it, its manuscript report and the book's shape; says where. */
export async function writeExport(
  engine: Engine,
  project: Project,
  format: ExportFormat,
  out?: string,
): Promise<string> {
  const files = await renderExport(
    engine.db,
    project,
    engine.config.FOLIO_AUTHOR_NAME,
    format,
    out === undefined ? undefined : basename(out),
  );
  const bookPath = fromCaller(out ?? files.book.name);
  const reportPath = bookPath.replace(/(\.[^./]+)?$/, ".report.md");
  const shapePath = bookPath.replace(/(\.[^./]+)?$/, ".shape.png");
  writeAtomically(bookPath, files.book.data);
  if (files.shape) writeAtomically(shapePath, files.shape.data);
  else if (files.shapeError)
    process.stderr.write(`The book's shape could not be drawn: ${files.shapeError}\n`);
  writeAtomically(reportPath, files.report.data);
  if (files.missing.length > 0) {
    process.stderr.write(`Partial manuscript: scenes ${files.missing.join(", ")} are not written yet.\n`);
  }
  const shape = files.shape ? ` (the book's shape beside it: ${basename(shapePath)})` : "";
  return `${bookPath} and ${reportPath}${shape}`;
}

function writeAtomically(path: string, data: Buffer): void {
  const temporary = `${path}.partial-${process.pid}`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}
