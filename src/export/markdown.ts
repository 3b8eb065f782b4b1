/** Plain Markdown export: chapter headings, scene breaks and paragraphs, nothing a reader must render. */
import type { Manuscript, ManuscriptChapter } from "./manuscript.js";
import { type ChapterLayout, cleanText, layoutChapters, partialNotice, SCENE_BREAK } from "./paragraphs.js";

// Line starts that Markdown would read as a heading, quote, bullet or rule instead of prose.
const BLOCK_START = /^(?:#{1,6}(?:\s|$)|>|[-+*](?:\s|$)|_{3,})/;
// "1. " or "1) " would start a numbered list; CommonMark escapes the punctuation, not the digit.
const ORDERED_START = /^(\d{1,9})(?=[.)](?:\s|$))/;

/** "<" would be taken for raw HTML and swallowed by renderers. */
function inline(text: string): string {
  return text.replace(/</g, "\\<");
}

/**
 * Escapes only what would stop a paragraph reading as prose. Inline marks (*emphasis*) are left alone:
 * models write them on purpose, and Markdown is where they should show.
 */
function proseLine(text: string): string {
  const escaped = inline(text);
  if (ORDERED_START.test(escaped)) return escaped.replace(ORDERED_START, "$1\\");
  return BLOCK_START.test(escaped) ? `\\${escaped}` : escaped;
}

function chapterBlocks(chapter: ChapterLayout, heading = "##"): string[] {
  const scenes = chapter.scenes.map((scene) => scene.map(proseLine).join("\n\n"));
  return [`${heading} ${inline(chapter.heading)}`, scenes.join(`\n\n${SCENE_BREAK}\n\n`)];
}

/** One chapter on its own, as the thread attaches it while the book is written: heading, then scenes. */
export function renderChapterMarkdown(chapter: ManuscriptChapter): string {
  const [layout] = layoutChapters({ chapters: [chapter] });
  return layout ? `${chapterBlocks(layout, "#").join("\n\n")}\n` : "";
}

export function renderMarkdown(m: Manuscript): string {
  const notice = partialNotice(m);
  const blocks = [
    `# ${inline(cleanText(m.title))}`,
    `by ${inline(cleanText(m.author))}`,
    ...(notice ? [`*${notice}*`] : []),
    ...layoutChapters(m).flatMap((chapter) => chapterBlocks(chapter)),
  ];
  return `${blocks.join("\n\n")}\n`;
}
