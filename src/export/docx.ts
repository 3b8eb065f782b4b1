/**
 * Kindle-ready .docx following KDP's manuscript guidance (SPEC §8).
 *
 * Chapter headings are one Heading 1 paragraph reading "Chapter N: Title" — a single heading keeps
 * Kindle's navigation, LibreOffice's outline and pandoc's header count at exactly one entry per chapter.
 *
 * All formatting lives in named paragraph styles; each paragraph only names its style, which keeps the
 * XML small and the 120,000-word render fast, and lets an author restyle the book in Word in one place.
 */
import {
  AlignmentType,
  Bookmark,
  Document,
  HeadingLevel,
  InternalHyperlink,
  type IParagraphStyleOptions,
  type IStylesOptions,
  Packer,
  Paragraph,
  TextRun,
} from "docx";
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

/** Paragraph style ids; "Body Text" and "First Paragraph" are the names Word and pandoc users know. */
const Style = {
  body: "BodyText",
  first: "FirstParagraph",
  sceneBreak: "SceneBreak",
  bookTitle: "BookTitle",
  bookAuthor: "BookAuthor",
  notice: "PartialNotice",
  frontMatter: "FrontMatter",
  contentsTitle: "ContentsTitle",
  contentsEntry: "ContentsEntry",
} as const;

/** KDP's recommended 0.2" first-line indent, in twips. */
const FIRST_LINE_INDENT = 288;
const NO_SPACING = { before: 0, after: 0 };
/** KDP reads a bookmark named "toc" as the book's table of contents. */
const CONTENTS_BOOKMARK = "toc";

function paragraphStyle(
  id: string,
  name: string,
  paragraph: IParagraphStyleOptions["paragraph"],
  run?: IParagraphStyleOptions["run"],
): IParagraphStyleOptions {
  return { id, name, basedOn: "Normal", next: Style.body, quickFormat: true, paragraph, run };
}

function styles(language: string): IStylesOptions {
  const centred = AlignmentType.CENTER;
  return {
    default: {
      document: {
        run: { font: "Times New Roman", size: 24, language: { value: language } },
        paragraph: { spacing: NO_SPACING },
      },
      heading1: {
        // The Contents title must not be a Heading 1, so only chapters carry outline level 0.
        paragraph: {
          alignment: centred,
          spacing: { before: 1440, after: 720 },
          keepNext: true,
          outlineLevel: 0,
        },
        run: { size: 36, bold: true, color: "000000", font: "Times New Roman" },
      },
    },
    paragraphStyles: [
      paragraphStyle(Style.body, "Body Text", {
        indent: { firstLine: FIRST_LINE_INDENT },
        spacing: NO_SPACING,
      }),
      paragraphStyle(Style.first, "First Paragraph", { indent: { firstLine: 0 }, spacing: NO_SPACING }),
      paragraphStyle(Style.sceneBreak, "Scene Break", {
        alignment: centred,
        indent: { firstLine: 0 },
        spacing: { before: 240, after: 240 },
        keepNext: true,
      }),
      paragraphStyle(
        Style.bookTitle,
        "Book Title",
        { alignment: centred, spacing: { before: 2880, after: 480 } },
        { size: 56, bold: true },
      ),
      paragraphStyle(
        Style.bookAuthor,
        "Book Author",
        { alignment: centred, spacing: NO_SPACING },
        { size: 32 },
      ),
      paragraphStyle(
        Style.notice,
        "Partial Notice",
        { alignment: centred, spacing: { before: 720, after: 0 } },
        { italics: true },
      ),
      paragraphStyle(Style.frontMatter, "Front Matter", {
        alignment: centred,
        spacing: { before: 0, after: 240 },
      }),
      paragraphStyle(
        Style.contentsTitle,
        "Contents Title",
        { alignment: centred, spacing: { before: 1440, after: 480 } },
        { size: 36, bold: true },
      ),
      paragraphStyle(Style.contentsEntry, "Contents Entry", {
        alignment: centred,
        spacing: { before: 0, after: 120 },
      }),
    ],
  };
}

function styledParagraph(style: string, text: string, pageBreakBefore = false): Paragraph {
  return new Paragraph({ style, pageBreakBefore, children: [new TextRun(text)] });
}

function titlePage(m: Manuscript): Paragraph[] {
  const notice = partialNotice(m);
  return [
    styledParagraph(Style.bookTitle, cleanText(m.title)),
    styledParagraph(Style.bookAuthor, cleanText(m.author)),
    ...(notice ? [styledParagraph(Style.notice, notice)] : []),
  ];
}

function copyrightPage(m: Manuscript): Paragraph[] {
  return copyrightParagraphs(m).map((text, index) => styledParagraph(Style.frontMatter, text, index === 0));
}

/** Hyperlinked entries without page numbers: reflowable e-books have no pages to number. */
function contents(chapters: ChapterLayout[]): Paragraph[] {
  const title = new Paragraph({
    style: Style.contentsTitle,
    pageBreakBefore: true,
    children: [new Bookmark({ id: CONTENTS_BOOKMARK, children: [new TextRun(CONTENTS_TITLE)] })],
  });
  const entries = chapters.map(
    (chapter) =>
      new Paragraph({
        style: Style.contentsEntry,
        children: [
          new InternalHyperlink({
            anchor: chapter.anchor,
            children: [new TextRun({ text: chapter.heading, style: "Hyperlink" })],
          }),
        ],
      }),
  );
  return [title, ...entries];
}

function chapterParagraphs(chapter: ChapterLayout): Paragraph[] {
  const heading = new Paragraph({
    heading: HeadingLevel.HEADING_1,
    pageBreakBefore: true,
    children: [new Bookmark({ id: chapter.anchor, children: [new TextRun(chapter.heading)] })],
  });
  const body = chapter.scenes.flatMap((scene, index) => [
    ...(index > 0 ? [styledParagraph(Style.sceneBreak, SCENE_BREAK)] : []),
    ...scene.map((text, i) => styledParagraph(i === 0 ? Style.first : Style.body, text)),
  ]);
  return [heading, ...body];
}

export async function renderDocx(m: Manuscript): Promise<Buffer> {
  const chapters = layoutChapters(m);
  const genre = cleanText(m.genre);
  const document = new Document({
    title: cleanText(m.title),
    creator: cleanText(m.author),
    lastModifiedBy: cleanText(m.author),
    description: cleanText(m.description),
    subject: genre,
    keywords: genre,
    styles: styles(m.language),
    sections: [
      {
        children: [
          ...titlePage(m),
          ...copyrightPage(m),
          ...contents(chapters),
          ...chapters.flatMap(chapterParagraphs),
        ],
      },
    ],
  });
  return Packer.toBuffer(document);
}
