// Over 300 lines: each export format (docx, epub, markdown) read back by its real reader, in one place.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import JSZip from "jszip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderDocx } from "../src/export/docx.js";
import { renderEpub } from "../src/export/epub.js";
import type { Manuscript } from "../src/export/manuscript.js";
import { renderMarkdown } from "../src/export/markdown.js";
import {
  CONTENTS_TITLE,
  chapterHeading,
  cleanText,
  copyrightParagraphs,
  layoutChapters,
  cleanParagraphs as splitParagraphs,
} from "../src/export/paragraphs.js";
import { makeManuscript, manuscriptWords } from "./helpers/manuscript.js";
import {
  epubcheckCommand,
  hasPdfTools,
  installed,
  pdfPagesOfDocx,
  runEpubcheck,
  tool,
} from "./helpers/readers";

const hasPandoc = installed("pandoc");
const epubcheck = epubcheckCommand();

// --- pandoc's JSON AST, just the parts these checks read --------------------------------------------

interface PandocNode {
  t: string;
  // biome-ignore lint/suspicious/noExplicitAny: pandoc's AST content differs per node type.
  c?: any;
}

function inlineText(inlines: PandocNode[]): string {
  return inlines
    .map((node) => {
      switch (node.t) {
        case "Str":
          return node.c as string;
        case "Space":
        case "SoftBreak":
        case "LineBreak":
          return " ";
        case "Link":
        case "Span":
          return inlineText(node.c[1]);
        case "Emph":
        case "Strong":
          return inlineText(node.c);
        default:
          return "";
      }
    })
    .join("");
}

/** Top-level blocks with Divs opened, so styled paragraphs are seen wherever pandoc put them. */
function flatBlocks(blocks: PandocNode[]): PandocNode[] {
  return blocks.flatMap((block) => (block.t === "Div" ? flatBlocks(block.c[1]) : [block]));
}

async function pandocBlocks(file: string, from: string): Promise<PandocNode[]> {
  const ast = JSON.parse(await tool("pandoc", ["-f", from, "-t", "json", file]));
  return flatBlocks(ast.blocks);
}

function headers(blocks: PandocNode[], level: number): { id: string; text: string }[] {
  return blocks
    .filter((b) => b.t === "Header" && b.c[0] === level)
    .map((b) => ({ id: b.c[1][0] as string, text: inlineText(b.c[2]) }));
}

function paragraphTexts(blocks: PandocNode[]): string[] {
  return blocks.filter((b) => b.t === "Para" || b.t === "Plain").map((b) => inlineText(b.c));
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((word) => word.length > 0).length;
}

// --- the book under test ---------------------------------------------------------------------------

const book = makeManuscript({ chapters: 12, scenesPerChapter: [3, 5], wordsPerScene: 250 });
const partialBook = makeManuscript({ chapters: 4, scenesPerChapter: 3, wordsPerScene: 120, partial: [2, 5] });
const headings = book.chapters.map(chapterHeading);
const sceneBreaks = (m: Manuscript) => layoutChapters(m).reduce((sum, c) => sum + c.scenes.length - 1, 0);

let dir: string;
let docx: Buffer;
let docxFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "folio-export-"));
  docx = await renderDocx(book);
  docxFile = join(dir, "book.docx");
  await writeFile(docxFile, docx);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("paragraph normalisation", () => {
  it("drops tabs, control characters, runs of spaces and empty paragraphs", () => {
    const text = "  One\ttwo   three\u0007\nfour\r\n\r\n \n\n\t\nFive\u00A0six  ";
    expect(splitParagraphs(text)).toEqual(["One two three four", "Five\u00A0six"]);
  });

  it("turns scene-break lines the model wrote into real scene breaks", () => {
    const m = makeManuscript({ chapters: 1, scenesPerChapter: 1, wordsPerScene: 10 });
    m.chapters[0]!.scenes[0]!.text = "Before.\n\n* * *\n\nAfter.\n\n#\n\nNext.\n\n---\n\nLast.";
    expect(layoutChapters(m)[0]!.scenes).toEqual([["Before."], ["After."], ["Next."], ["Last."]]);
  });
});

describe("docx: inside the package", () => {
  let documentXml: string;
  let stylesXml: string;
  let coreXml: string;
  let paragraphs: string[];

  beforeAll(async () => {
    const zip = await JSZip.loadAsync(docx);
    documentXml = await zip.file("word/document.xml")!.async("string");
    stylesXml = await zip.file("word/styles.xml")!.async("string");
    coreXml = await zip.file("docProps/core.xml")!.async("string");
    paragraphs = documentXml.match(/<w:p[ >][\s\S]*?<\/w:p>/g) ?? [];
  });

  const styleOf = (p: string) => /<w:pStyle w:val="([^"]+)"/.exec(p)?.[1];
  const styleDefinition = (id: string) =>
    new RegExp(`<w:style [^>]*w:styleId="${id}"[\\s\\S]*?</w:style>`).exec(stylesXml)?.[0] ?? "";

  it("has no tabs and no empty paragraphs", () => {
    expect(documentXml).not.toContain("<w:tab/>");
    expect(documentXml).not.toContain("\t");
    const empty = paragraphs.filter((p) => !/<w:t[ >][^<]*\S[^<]*<\/w:t>/.test(p));
    expect(empty).toEqual([]);
  });

  it("indents body text 0.2 inch with no spacing, and never indents a chapter's or scene's first paragraph", () => {
    const body = styleDefinition("BodyText");
    expect(body).toContain('w:firstLine="288"');
    expect(body).toMatch(/<w:spacing (?=[^>]*w:after="0")(?=[^>]*w:before="0")/);
    expect(styleDefinition("FirstParagraph")).toContain('w:firstLine="0"');
    expect(documentXml).not.toContain("<w:ind "); // indentation comes from styles only

    const styles = paragraphs.map(styleOf);
    const openers = styles.flatMap((style, i) =>
      style === "Heading1" || style === "SceneBreak" ? [styles[i + 1]] : [],
    );
    expect(openers).toHaveLength(book.chapters.length + sceneBreaks(book));
    expect(new Set(openers)).toEqual(new Set(["FirstParagraph"]));
  });

  it("starts every chapter heading on a new page", () => {
    const chapterHeadings = paragraphs.filter((p) => styleOf(p) === "Heading1");
    expect(chapterHeadings).toHaveLength(book.chapters.length);
    for (const heading of chapterHeadings) expect(heading).toContain("<w:pageBreakBefore/>");
  });

  it("links every contents entry to a bookmark on its chapter heading", () => {
    const anchors = [...documentXml.matchAll(/<w:hyperlink [^>]*w:anchor="([^"]+)"/g)].map(
      (match) => match[1],
    );
    expect(anchors).toHaveLength(book.chapters.length);
    const headingBookmarks = paragraphs
      .filter((p) => styleOf(p) === "Heading1")
      .map((p) => /<w:bookmarkStart w:name="([^"]+)"/.exec(p)?.[1]);
    expect(anchors).toEqual(headingBookmarks);
  });

  it("carries title, author, description and genre in the document properties", () => {
    const xmlText = (s: string) =>
      s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;");
    expect(coreXml).toContain(`<dc:title>${xmlText(book.title)}</dc:title>`);
    expect(coreXml).toContain(`<dc:creator>${book.author}</dc:creator>`);
    expect(coreXml).toContain(`<dc:description>${book.description}</dc:description>`);
    expect(coreXml).toContain(`<dc:subject>${book.genre}</dc:subject>`);
  });
});

describe.skipIf(!hasPandoc)("docx: read by pandoc", () => {
  let blocks: PandocNode[];

  beforeAll(async () => {
    blocks = await pandocBlocks(docxFile, "docx");
  });

  it("has exactly one level-1 header per chapter, and Contents is not a header", () => {
    expect(headers(blocks, 1).map((h) => h.text)).toEqual(headings);
    const allHeaders = blocks.filter((b) => b.t === "Header").map((b) => inlineText(b.c[2]));
    expect(allHeaders).not.toContain(CONTENTS_TITLE);
    expect(paragraphTexts(blocks)).toContain(CONTENTS_TITLE);
  });

  it("has a contents entry linking to each chapter header", () => {
    const links = blocks.flatMap((b) =>
      b.t === "Para"
        ? (b.c as PandocNode[]).filter((i) => i.t === "Link").map((i) => i.c[2][0] as string)
        : [],
    );
    expect(links).toEqual(headers(blocks, 1).map((h) => `#${h.id}`));
  });

  it("keeps the manuscript's word count", () => {
    const firstChapter = blocks.findIndex((b) => b.t === "Header");
    const bodyWords = paragraphTexts(blocks.slice(firstChapter))
      .filter((text) => text !== "* * *")
      .reduce((sum, text) => sum + wordCount(text), 0);
    const expectedBody = manuscriptWords(book);
    expect(Math.abs(bodyWords - expectedBody) / expectedBody).toBeLessThan(0.02);

    const frontMatter = [book.title, book.author, ...copyrightParagraphs(book), CONTENTS_TITLE, ...headings];
    const expectedTotal = expectedBody + wordCount(frontMatter.join(" ")) + wordCount(headings.join(" "));
    const allText = [...paragraphTexts(blocks), ...headers(blocks, 1).map((h) => h.text)].filter(
      (t) => t !== "* * *",
    );
    const totalWords = wordCount(allText.join(" "));
    expect(Math.abs(totalWords - expectedTotal) / expectedTotal).toBeLessThan(0.02);
  });
});

describe.skipIf(!hasPdfTools)("docx: laid out by LibreOffice", () => {
  it("starts every chapter at the top of a page", async () => {
    const pages = await pdfPagesOfDocx(docxFile, dir);
    expect(pages.length).toBeGreaterThan(headings.length);
    const firstLines = pages.map(
      (text) =>
        text
          .split("\n")
          .map((line) => cleanText(line))
          .find(Boolean) ?? "",
    );
    for (const heading of headings) expect(firstLines).toContain(heading);
    expect(firstLines).toContain(CONTENTS_TITLE);
    expect(firstLines).toContain(copyrightParagraphs(book)[0]);
  });
});

describe("epub", () => {
  const modified = new Date("2025-03-04T05:06:07.890Z");
  let epub: Buffer;
  let epubFile: string;

  beforeAll(async () => {
    epub = await renderEpub(book, { modified });
    epubFile = join(dir, "book.epub");
    await writeFile(epubFile, epub);
  });

  it("starts with an uncompressed mimetype entry", () => {
    expect(epub.readUInt32LE(0)).toBe(0x04034b50); // local file header
    expect(epub.readUInt16LE(8)).toBe(0); // stored
    expect(epub.subarray(30, 38).toString()).toBe("mimetype");
    expect(epub.subarray(38 + epub.readUInt16LE(28), 58 + epub.readUInt16LE(28)).toString()).toBe(
      "application/epub+zip",
    );
  });

  it("has a stable identifier and a second-precision modified date", async () => {
    const opf = await (await JSZip.loadAsync(epub)).file("OEBPS/content.opf")!.async("string");
    expect(opf).toMatch(
      /<dc:identifier id="book-id">urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}</,
    );
    expect(opf).toContain('<meta property="dcterms:modified">2025-03-04T05:06:07Z</meta>');
    expect(await renderEpub(book, { modified })).toEqual(epub);
    const given = "0f5e3c4a-1b2c-4d3e-8f40-123456789abc";
    const withGiven = await JSZip.loadAsync(await renderEpub(book, { modified, identifier: given }));
    expect(await withGiven.file("OEBPS/content.opf")!.async("string")).toContain(`>urn:uuid:${given}<`);
  });

  it.skipIf(!epubcheck)("passes epubcheck with no errors and no warnings", async () => {
    const partialFile = join(dir, "partial.epub");
    await writeFile(partialFile, await renderEpub(partialBook));
    for (const file of [epubFile, partialFile]) {
      const { code, output } = await runEpubcheck(file);
      expect(code, output).toBe(0);
      expect(output).not.toMatch(/^(ERROR|WARNING|FATAL)/m);
      expect(output).toContain("No errors or warnings detected");
    }
  });

  it.skipIf(!hasPandoc)("reads in pandoc with one level-1 header per chapter", async () => {
    const blocks = await pandocBlocks(epubFile, "epub");
    expect(headers(blocks, 1).map((h) => h.text)).toEqual(headings);
  });
});

describe("markdown", () => {
  const markdown = renderMarkdown(book);

  it("keeps the title, chapter headings and scene breaks", () => {
    expect(markdown.startsWith(`# ${book.title.replace(/</g, "\\<")}\n\nby ${book.author}\n\n`)).toBe(true);
    expect(markdown.match(/^## .*$/gm)).toEqual(headings.map((h) => `## ${h}`));
    expect(markdown.match(/^\* \* \*$/gm)).toHaveLength(sceneBreaks(book));
    expect(markdown).not.toMatch(/\n{3,}/);
    expect(markdown).not.toContain("\t");
  });

  it("escapes prose lines that Markdown would read as lists, headings, quotes or HTML", () => {
    const m = makeManuscript({ chapters: 1, scenesPerChapter: 1, wordsPerScene: 10 });
    m.chapters[0]!.scenes[0]!.text = "1. One.\n\n# Two\n\n- Three <b>\n\n> Four";
    expect(renderMarkdown(m)).toContain("1\\. One.\n\n\\# Two\n\n\\- Three \\<b>\n\n\\> Four\n");
  });

  it.skipIf(!hasPandoc)("reads in pandoc as the same chapters", async () => {
    const file = join(dir, "book.md");
    await writeFile(file, markdown);
    const blocks = await pandocBlocks(file, "markdown");
    expect(headers(blocks, 2).map((h) => h.text)).toEqual(headings);
    expect(blocks.filter((b) => b.t === "HorizontalRule")).toHaveLength(sceneBreaks(book));
  });
});

describe("partial manuscript", () => {
  const notice = "Partial manuscript — scenes 2, 5 not yet written";

  it("names the missing scenes in markdown", () => {
    expect(renderMarkdown(partialBook)).toContain(`*${notice}*`);
  });

  it.skipIf(!hasPandoc)(
    "names the missing scenes on the docx title page and leaves them out of the body",
    async () => {
      const file = join(dir, "partial.docx");
      await writeFile(file, await renderDocx(partialBook));
      const blocks = await pandocBlocks(file, "docx");
      const texts = paragraphTexts(blocks);
      const titlePage = texts.slice(0, texts.indexOf(copyrightParagraphs(partialBook)[0]!));
      expect(titlePage).toContain(notice);
      const firstChapter = blocks.findIndex((b) => b.t === "Header");
      const bodyWords = paragraphTexts(blocks.slice(firstChapter))
        .filter((text) => text !== "* * *")
        .reduce((sum, text) => sum + wordCount(text), 0);
      expect(bodyWords).toBe(manuscriptWords(partialBook));
    },
  );

  it("names the missing scenes on the epub title page", async () => {
    const zip = await JSZip.loadAsync(await renderEpub(partialBook));
    expect(await zip.file("OEBPS/title.xhtml")!.async("string")).toContain(notice);
  });
});
