// Over 300 lines: the whole EPUB is written here, OPF, navigation, NCX, cover and XHTML pages, so
// every file of the package and what epubcheck asks of it stay side by side.
/**
 * EPUB 3, written as its own OPF, navigation and XHTML files zipped with jszip.
 *
 * Hand-rolled on purpose (DESIGN.md asks for a library first): the bar is epubcheck with zero errors
 * and zero warnings, which needs full control over every file in the container, and no maintained
 * EPUB 3 library fits Node 20 well. A novel needs only a handful of fixed templates, so owning them
 * costs less than working around a library.
 */

import { createHash } from "node:crypto";
import JSZip from "jszip";
import { coverPng } from "../pictures/cover";
import type { Manuscript } from "./manuscript.js";
import {
  type ChapterLayout,
  CONTENTS_TITLE,
  cleanText,
  copyrightParagraphs,
  layoutChapters,
  partialNotice,
  SCENE_BREAK,
} from "./paragraphs.js";

export interface EpubOptions {
  /** dcterms:modified; defaults to now. Pass a fixed date for byte-stable output. */
  modified?: Date;
  /** A UUID, or any stable key (such as a project id) to derive one from. */
  identifier?: string;
}

interface BookMeta {
  identifier: string;
  title: string;
  author: string;
  description: string;
  genre: string;
  language: string;
  modified: string;
}

interface SpineItem {
  id: string;
  href: string;
  /** The nav document and other files with special roles carry manifest properties. */
  properties?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Well-formed BCP 47 in its common shape; anything else would make epubcheck reject dc:language.
const LANGUAGE_TAG = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/;

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Clean text escaped for element content and attribute values alike (cleanText drops invalid characters). */
function xml(text: string): string {
  return cleanText(text).replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/** A name-based (version 5 layout) UUID, so re-exporting the same book keeps the same identifier. */
function uuidFrom(key: string): string {
  const bytes = createHash("sha1").update(`folio:${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function bookIdentifier(m: Manuscript, identifier?: string): string {
  if (identifier && UUID.test(identifier)) return `urn:uuid:${identifier.toLowerCase()}`;
  return `urn:uuid:${uuidFrom(identifier ?? `${m.title}\u0000${m.author}`)}`;
}

/** EPUB wants UTC with seconds and no fraction: 2025-01-31T12:00:00Z. */
function modifiedStamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function bookMeta(m: Manuscript, identifier: string | undefined, modified: Date): BookMeta {
  return {
    identifier: bookIdentifier(m, identifier),
    title: cleanText(m.title) || "Untitled",
    author: cleanText(m.author) || "Unknown",
    description: cleanText(m.description),
    genre: cleanText(m.genre),
    language: LANGUAGE_TAG.test(m.language) ? m.language : "en",
    modified: modifiedStamp(modified),
  };
}

function page(meta: BookMeta, title: string, body: string, bodyType: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="${meta.language}" xml:lang="${meta.language}">
<head>
<meta charset="UTF-8"/>
<title>${xml(title)}</title>
<link rel="stylesheet" type="text/css" href="style.css"/>
</head>
<body epub:type="${bodyType}">
${body}
</body>
</html>
`;
}

function paragraph(text: string, className?: string): string {
  return className ? `<p class="${className}">${xml(text)}</p>` : `<p>${xml(text)}</p>`;
}

function titlePage(m: Manuscript, meta: BookMeta): string {
  const notice = partialNotice(m);
  const body = [
    `<section class="titlepage" epub:type="titlepage">`,
    paragraph(meta.title, "book-title"),
    paragraph(meta.author, "book-author"),
    ...(notice ? [paragraph(notice, "partial-notice")] : []),
    "</section>",
  ].join("\n");
  return page(meta, meta.title, body, "frontmatter");
}

function copyrightPage(m: Manuscript, meta: BookMeta): string {
  const body = [
    `<section class="copyright" epub:type="copyright-page">`,
    ...copyrightParagraphs(m).map((text) => paragraph(text, "front")),
    "</section>",
  ].join("\n");
  return page(meta, "Copyright", body, "frontmatter");
}

function chapterFile(chapter: ChapterLayout): string {
  return `chapter-${String(chapter.number).padStart(3, "0")}.xhtml`;
}

/** Headings sit in h1 only for chapters, so readers and pandoc see exactly one top-level entry per chapter. */
function chapterPage(chapter: ChapterLayout, meta: BookMeta): string {
  const scenes = chapter.scenes.map((scene) =>
    scene.map((text, i) => (i === 0 ? paragraph(text, "first") : paragraph(text))).join("\n"),
  );
  const body = [
    `<section id="${chapter.anchor}" epub:type="chapter">`,
    `<h1>${xml(chapter.heading)}</h1>`,
    scenes.join(`\n${paragraph(SCENE_BREAK, "scene-break")}\n`),
    "</section>",
  ].join("\n");
  return page(meta, chapter.heading, body, "bodymatter");
}

interface TocEntry {
  id: string;
  href: string;
  label: string;
}

/** Chapters, or the title page while none is written: a table of contents may not be empty. */
function tocEntries(chapters: ChapterLayout[], meta: BookMeta): TocEntry[] {
  if (chapters.length === 0) return [{ id: "title", href: "title.xhtml", label: meta.title }];
  return chapters.map((chapter) => ({
    id: chapter.anchor,
    href: chapterFile(chapter),
    label: chapter.heading,
  }));
}

function navPage(toc: TocEntry[], meta: BookMeta): string {
  const entries = toc.map((entry) => `<li><a href="${entry.href}">${xml(entry.label)}</a></li>`);
  const body = `<nav epub:type="toc" id="toc">
<h2 class="contents-title">${CONTENTS_TITLE}</h2>
<ol class="contents">
${entries.join("\n")}
</ol>
</nav>
<nav epub:type="landmarks" id="landmarks" hidden="hidden">
<h2>Landmarks</h2>
<ol>
<li><a epub:type="cover" href="cover.xhtml">Cover</a></li>
<li><a epub:type="titlepage" href="title.xhtml">Title Page</a></li>
<li><a epub:type="copyright-page" href="copyright.xhtml">Copyright</a></li>
<li><a epub:type="toc" href="nav.xhtml">${CONTENTS_TITLE}</a></li>
<li><a epub:type="bodymatter" href="${toc[0]!.href}">Start of Content</a></li>
</ol>
</nav>`;
  return page(meta, CONTENTS_TITLE, body, "frontmatter");
}

/** The EPUB 2 table of contents, kept because older Kindle and Kobo readers still navigate by it. */
function ncx(toc: TocEntry[], meta: BookMeta): string {
  const points = toc.map(
    (entry, i) => `<navPoint id="nav-${entry.id}" playOrder="${i + 1}">
<navLabel><text>${xml(entry.label)}</text></navLabel>
<content src="${entry.href}"/>
</navPoint>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1" xml:lang="${meta.language}">
<head>
<meta name="dtb:uid" content="${meta.identifier}"/>
<meta name="dtb:depth" content="1"/>
<meta name="dtb:totalPageCount" content="0"/>
<meta name="dtb:maxPageNumber" content="0"/>
</head>
<docTitle><text>${xml(meta.title)}</text></docTitle>
<navMap>
${points.join("\n")}
</navMap>
</ncx>
`;
}

/** The cover's own page, first in the spine: the cover image, whole, on a page of its own. */
function coverPage(meta: BookMeta): string {
  const body = `<section class="cover" epub:type="cover">
<img class="cover" src="cover.png" alt="${xml(`Cover: ${meta.title}, by ${meta.author}`)}"/>
</section>`;
  return page(meta, meta.title, body, "cover");
}

function packageDocument(meta: BookMeta, spine: SpineItem[]): string {
  const optional = [
    meta.description ? `<dc:description>${xml(meta.description)}</dc:description>` : "",
    meta.genre ? `<dc:subject>${xml(meta.genre)}</dc:subject>` : "",
  ].filter(Boolean);
  const items = spine.map(
    (item) =>
      `<item id="${item.id}" href="${item.href}" media-type="application/xhtml+xml"${
        item.properties ? ` properties="${item.properties}"` : ""
      }/>`,
  );
  const itemrefs = spine.map((item) => `<itemref idref="${item.id}"/>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" xml:lang="${meta.language}">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="book-id">${meta.identifier}</dc:identifier>
<dc:title>${xml(meta.title)}</dc:title>
<dc:creator id="author">${xml(meta.author)}</dc:creator>
<meta refines="#author" property="role" scheme="marc:relators">aut</meta>
<dc:language>${meta.language}</dc:language>
${optional.join("\n")}
<meta name="cover" content="cover-image"/>
<meta property="dcterms:modified">${meta.modified}</meta>
</metadata>
<manifest>
<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
<item id="css" href="style.css" media-type="text/css"/>
<item id="cover-image" href="cover.png" media-type="image/png" properties="cover-image"/>
${items.join("\n")}
</manifest>
<spine toc="ncx">
${itemrefs.join("\n")}
</spine>
</package>
`;
}

const CONTAINER = `<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles>
<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
</rootfiles>
</container>
`;

// Explicit classes rather than sibling selectors: older Kindle renderers ignore `h1 + p`.
const STYLESHEET = `body { margin: 0 5%; }
p { margin: 0; text-indent: 1.5em; line-height: 1.4; }
p.first, p.front, p.scene-break, p.book-title, p.book-author, p.partial-notice { text-indent: 0; }
p.scene-break { text-align: center; margin: 1em 0; }
h1 { text-align: center; margin: 3em 0 2em; font-size: 1.5em; page-break-before: always; }
.titlepage, .copyright { text-align: center; }
p.book-title { font-size: 2em; font-weight: bold; margin: 3em 0 1em; }
p.book-author { font-size: 1.3em; }
p.partial-notice { font-style: italic; margin-top: 2em; }
p.front { margin-bottom: 1em; }
h2.contents-title { text-align: center; }
ol.contents { list-style-type: none; }
section.cover { margin: 0; padding: 0; text-align: center; }
img.cover { max-width: 100%; max-height: 100%; }
`;

export async function renderEpub(m: Manuscript, opts: EpubOptions = {}): Promise<Buffer> {
  const modified = opts.modified ?? new Date();
  const meta = bookMeta(m, opts.identifier, modified);
  const chapters = layoutChapters(m);
  const toc = tocEntries(chapters, meta);
  const spine: SpineItem[] = [
    { id: "cover", href: "cover.xhtml" },
    { id: "title", href: "title.xhtml" },
    { id: "copyright", href: "copyright.xhtml" },
    { id: "nav", href: "nav.xhtml", properties: "nav" },
    ...chapters.map((chapter) => ({ id: chapter.anchor, href: chapterFile(chapter) })),
  ];
  const files: [string, string][] = [
    ["META-INF/container.xml", CONTAINER],
    ["OEBPS/content.opf", packageDocument(meta, spine)],
    ["OEBPS/toc.ncx", ncx(toc, meta)],
    ["OEBPS/style.css", STYLESHEET],
    ["OEBPS/nav.xhtml", navPage(toc, meta)],
    ["OEBPS/cover.xhtml", coverPage(meta)],
    ["OEBPS/title.xhtml", titlePage(m, meta)],
    ["OEBPS/copyright.xhtml", copyrightPage(m, meta)],
    ...chapters.map((chapter): [string, string] => [
      `OEBPS/${chapterFile(chapter)}`,
      chapterPage(chapter, meta),
    ]),
  ];

  // Entry dates follow `modified` so the same book and options give the same bytes; no directory
  // entries, which OCF has no use for; and the mimetype first and uncompressed, as OCF requires.
  const zip = new JSZip();
  const entry = { date: modified, createFolders: false };
  zip.file("mimetype", "application/epub+zip", { ...entry, compression: "STORE" });
  for (const [name, content] of files) zip.file(name, content, entry);
  // The typographic cover, the same for the same title, author and genre.
  zip.file("OEBPS/cover.png", coverPng({ title: meta.title, author: meta.author, genre: m.genre }), {
    ...entry,
    compression: "STORE",
  });
  return zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", compressionOptions: { level: 6 } });
}
