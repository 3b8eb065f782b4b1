/**
 * Text shaping shared by every exporter, so docx, EPUB and Markdown agree on what a paragraph, a scene
 * break, a chapter heading and the front matter say.
 */
import { splitParagraphs } from "../text/words";
import { type Manuscript, type ManuscriptChapter, missingScenes } from "./manuscript.js";

/** A chapter as exporters lay it out: written scenes only, each a list of clean paragraphs. */
export interface ChapterLayout {
  number: number;
  /** "Chapter N: Title", or "Chapter N" when the chapter has no title. */
  heading: string;
  /** Stable id usable as a Word bookmark name and as an XHTML id (letters, digits, underscore). */
  anchor: string;
  scenes: string[][];
}

// Characters XML 1.0 forbids (C0 controls except tab/newline/return, lone surrogates, U+FFFE/U+FFFF).
// Model output occasionally carries them, and a single one makes a .docx or .epub unreadable.
const INVALID_XML_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

// Only ASCII whitespace collapses: a no-break space is deliberate ("Mr.\u00A0Smith") and must survive.
const ASCII_WHITESPACE_RUN = /[ \t\n\r\f\v]+/g;

// A line the model wrote as its own scene break ("* * *", "***", "#", "~~~", "---") inside one scene's text.
const INLINE_SCENE_BREAK = /^(?:[*#~-]\s*){1,5}$/;

/** One line of clean text: valid XML characters, no tabs, single spaces, trimmed. */
export function cleanText(text: string): string {
  return text.replace(INVALID_XML_CHARS, "").replace(ASCII_WHITESPACE_RUN, " ").trim();
}

/**
 * The paragraphs of a scene as exports print them: split on blank lines (a single newline inside a
 * paragraph is a soft wrap), each cleaned to one line, empty ones dropped. A lone carriage return (old Mac
 * line endings) counts as a line break here, which the splitter itself does not do.
 */
export function cleanParagraphs(text: string): string[] {
  return splitParagraphs(text.replace(/\r\n?/g, "\n"))
    .map(cleanText)
    .filter((paragraph) => paragraph.length > 0);
}

/**
 * The scenes a text holds: normally one, more when the model wrote its own scene-break lines, which
 * become real scene breaks instead of stray indented asterisks.
 */
function splitOnInlineBreaks(paragraphs: string[]): string[][] {
  const scenes: string[][] = [[]];
  for (const paragraph of paragraphs) {
    if (INLINE_SCENE_BREAK.test(paragraph)) scenes.push([]);
    else scenes[scenes.length - 1]!.push(paragraph);
  }
  return scenes.filter((scene) => scene.length > 0);
}

export function chapterHeading(chapter: ManuscriptChapter): string {
  const title = cleanText(chapter.title);
  return title ? `Chapter ${chapter.number}: ${title}` : `Chapter ${chapter.number}`;
}

/**
 * Chapters with their written scenes. A chapter none of whose scenes is written yet is left out, so a
 * partial export has no empty chapter pages; the title-page notice names the missing scenes instead.
 */
export function layoutChapters(m: Pick<Manuscript, "chapters">): ChapterLayout[] {
  return m.chapters
    .map((chapter) => ({
      number: chapter.number,
      heading: chapterHeading(chapter),
      anchor: `chapter_${chapter.number}`,
      scenes: chapter.scenes.flatMap((scene) => splitOnInlineBreaks(cleanParagraphs(scene.text ?? ""))),
    }))
    .filter((chapter) => chapter.scenes.length > 0);
}

/** "Partial manuscript — scenes 3, 7 not yet written", or null for a finished book. */
export function partialNotice(m: Manuscript): string | null {
  const missing = missingScenes(m);
  if (!m.partial && missing.length === 0) return null;
  if (missing.length === 0) return "Partial manuscript — some scenes are not yet written";
  const noun = missing.length === 1 ? "scene" : "scenes";
  return `Partial manuscript — ${noun} ${missing.join(", ")} not yet written`;
}

/** Copyright page paragraphs, the usual wording for a self-published work of fiction. */
export function copyrightParagraphs(m: Manuscript): string[] {
  const author = cleanText(m.author);
  return [
    `Copyright © ${m.year} ${author}. All rights reserved.`,
    "No part of this book may be reproduced in any form or by any electronic or mechanical means without " +
      "written permission from the author, except for the use of brief quotations in a book review.",
    "This is a work of fiction. Names, characters, places and incidents are products of the author's " +
      "imagination or are used fictitiously. Any resemblance to actual persons, living or dead, or to " +
      "events or locales is entirely coincidental.",
  ];
}

export const SCENE_BREAK = "* * *";
export const CONTENTS_TITLE = "Contents";
