import { coverPng } from "../pictures/cover";
import { renderDocx } from "./docx";
import { renderEpub } from "./epub";
import type { Manuscript } from "./manuscript";
import { renderMarkdown } from "./markdown";

/** Every format a book can be exported in: its file extension and its renderer. One entry per format. */
const FORMATS = {
  docx: { extension: "docx", render: (book: Manuscript) => renderDocx(book) },
  epub: { extension: "epub", render: (book: Manuscript) => renderEpub(book) },
  markdown: {
    extension: "md",
    render: async (book: Manuscript) => Buffer.from(renderMarkdown(book), "utf8"),
  },
  // The typographic cover alone, at KDP's 1,600 × 2,560 (the EPUB carries it too; the .docx does not).
  cover: {
    extension: "png",
    render: async (book: Manuscript) =>
      coverPng({ title: book.title, author: book.author, genre: book.genre }),
  },
} satisfies Record<string, { extension: string; render: (book: Manuscript) => Promise<Buffer> }>;

export type ExportFormat = keyof typeof FORMATS;
export const EXPORT_FORMATS = Object.keys(FORMATS) as ExportFormat[];

export function renderBook(format: ExportFormat, book: Manuscript): Promise<Buffer> {
  return FORMATS[format].render(book);
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
  return `${slug || "novel"}.${FORMATS[format].extension}`;
}
