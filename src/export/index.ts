import { renderDocx } from "./docx";
import { renderEpub } from "./epub";
import type { Manuscript } from "./manuscript";
import { renderMarkdown } from "./markdown";

export const EXPORT_FORMATS = ["docx", "epub", "markdown"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const EXTENSIONS: Record<ExportFormat, string> = { docx: "docx", epub: "epub", markdown: "md" };

export async function renderBook(format: ExportFormat, book: Manuscript): Promise<Buffer> {
  switch (format) {
    case "docx":
      return renderDocx(book);
    case "epub":
      return renderEpub(book);
    case "markdown":
      return Buffer.from(renderMarkdown(book), "utf8");
  }
}

/** A file name derived from the title: lower case, ASCII letters and digits joined by dashes. */
export function fileNameFor(title: string, format: ExportFormat): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[^\w\s-]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, "-")
    .slice(0, 60);
  return `${slug || "novel"}.${EXTENSIONS[format]}`;
}
