/**
 * Revision guards (SPEC "Guards on every rewrite", and stage 12's meta-text and mid-sentence checks).
 *
 * Models wrap prose in chatter ("Here is the revised scene:"), label it ("Scene 12:"), format it as
 * Markdown, or leave placeholders. Each pattern is anchored where the chatter actually appears (line
 * starts, the very beginning) and prose-like ones are ignored inside dialogue, so a character may still
 * say "Here is the key" or "I hope this works".
 */

import type { Span } from "./words";

interface MetaPattern {
  reason: string;
  pattern: RegExp;
  /** When true, a match inside a quotation in the same paragraph is a character speaking, not chatter. */
  skipInDialogue?: boolean;
}

const META_PATTERNS: readonly MetaPattern[] = [
  {
    reason: "assistant preamble",
    pattern:
      /^[ \t]*(?:\*\*)?(?:here(?:['’]s| is| are)|below is|the following is)\b[^\n]{0,60}?\b(?:revis\w*|rewrit\w*|edited|version|draft|scene|chapter|passage|text|prose)\b[^\n:]{0,40}/gim,
    skipInDialogue: true,
  },
  {
    reason: "assistant opening",
    // "Sure," and "Certainly" never open a scene; "Of course," might, so it needs the chatter after it.
    pattern:
      /^\s*(?:(?:sure|certainly)\s*[,!.:]|(?:of course|absolutely|okay)\s*(?:!|[,.:]\s*(?:here|I\b|I['’]|let me|below)))/gi,
  },
  {
    reason: "scene or chapter label",
    pattern:
      /^[ \t]*(?:\*\*)?(?:scene|chapter|part)[ \t]+(?:\d+|[ivxlc]+|one|two|three|four|five|six|seven|eight|nine|ten)\b[ \t]*(?:\*\*)?[ \t]*(?:[:.—–-]|$)/gim,
  },
  {
    reason: "revision label",
    pattern:
      /^[ \t]*(?:\*\*)?(?:revised|rewritten|edited|final|updated|new)[ \t]+(?:scene|version|draft|text|passage)\b[^\n]{0,20}?:/gim,
  },
  { reason: "AI self-reference", pattern: /\bas an ai\b/gi, skipInDialogue: true },
  { reason: "AI self-reference", pattern: /\blanguage model\b/gi, skipInDialogue: true },
  {
    reason: "sign-off",
    pattern:
      /\bI hope (?:this|that|these) (?:helps|meets|captures|revision|version|rewrite|draft|works for you|is what you|fits your)/gi,
    skipInDialogue: true,
  },
  {
    reason: "sign-off",
    pattern:
      /\b(?:let me know if|feel free to)\b[^\n]{0,40}\b(?:changes|adjust\w*|revis\w*|edits?|tweak\w*)/gi,
    skipInDialogue: true,
  },
  { reason: "Markdown heading", pattern: /^[ \t]*#{1,6}[ \t]+\S/gm },
  { reason: "Markdown bold label", pattern: /^[ \t]*\*\*[^*\n]{1,60}\*\*[ \t]*:?[ \t]*$/gm },
  { reason: "Markdown bold label", pattern: /^[ \t]*\*\*[^*\n]{1,60}(?::\*\*|\*\*:)/gm },
  { reason: "code fence", pattern: /^[ \t]*(?:```|~~~)/gm },
  {
    reason: "leftover marker",
    pattern: /\[(?:TODO|TBD|TK|FIXME|PLACEHOLDER|NOTE|INSERT|ADD|CONTINUE)\b[^\]\n]{0,80}\]/gi,
  },
  { reason: "leftover marker", pattern: /\[insert\b/gi },
  { reason: "leftover marker", pattern: /(?<![\p{L}\p{N}])TK(?![\p{L}\p{N}])/gu },
  {
    reason: "leftover marker",
    pattern: /<\/?(?:scene|chapter|text|draft|revision|output|prose|story)\b[^>\n]{0,40}>/gi,
  },
  { reason: "word-count note", pattern: /\(\s*(?:approx\.?\s*|approximately\s*|~\s*)?word count\b/gi },
  { reason: "word-count note", pattern: /\bword count\s*:/gi },
];

const MAX_SHOWN = 60;

/**
 * Reasons the text contains meta-text, one per distinct finding, e.g.
 * `assistant preamble: "Here is the revised scene"`. Empty when clean.
 */
export function findMetaText(text: string): string[] {
  const reasons = new Set<string>();
  let dialogue: Span[] | undefined;
  for (const { reason, pattern, skipInDialogue } of META_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      if (skipInDialogue) {
        dialogue ??= dialogueSpans(text);
        if (isInside(dialogue, match.index)) continue;
      }
      const shown = match[0].trim().slice(0, MAX_SHOWN);
      reasons.add(`${reason}: "${shown}"`);
    }
  }
  return [...reasons];
}

/**
 * Meta-text present in `revised` but not in `original`: a novel about an AI may legitimately say
 * "language model", and that must not make every revision of the scene fail the guard.
 */
export function newMetaText(original: string, revised: string): string[] {
  const before = new Set(findMetaText(original));
  return findMetaText(revised).filter((reason) => !before.has(reason));
}

/**
 * Spans inside quotations, in one pass: curly quotes by nesting, straight quotes by parity. A blank
 * line closes whatever is open, since a missing closing quote must not swallow the rest of the scene.
 */
function dialogueSpans(text: string): Span[] {
  const spans: Span[] = [];
  let curlyDepth = 0;
  let straightOpen = false;
  let openedAt = -1;
  const update = (index: number) => {
    const inside = curlyDepth > 0 || straightOpen;
    if (inside && openedAt < 0) openedAt = index;
    if (!inside && openedAt >= 0) {
      spans.push({ start: openedAt, end: index });
      openedAt = -1;
    }
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "“") curlyDepth++;
    else if (char === "”") curlyDepth = Math.max(0, curlyDepth - 1);
    else if (char === '"') straightOpen = !straightOpen;
    else if (char === "\n" && text[i + 1] === "\n") {
      curlyDepth = 0;
      straightOpen = false;
    } else continue;
    update(i);
  }
  update(text.length);
  return spans;
}

/** Binary search: is `index` within one of the sorted, disjoint spans? */
function isInside(spans: Span[], index: number): boolean {
  let low = 0;
  let high = spans.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const span = spans[middle]!;
    if (index < span.start) high = middle - 1;
    else if (index >= span.end) low = middle + 1;
    else return true;
  }
  return false;
}

/** Closing marks that may follow the final punctuation: quotes, brackets, Markdown emphasis. */
const TRAILING_CLOSERS = /[”"’')\]*_»]+$/u;
const TERMINAL = /[.!?…]$/u;

/** Whether the text ends a sentence: `.`, `!`, `?` or `…`, optionally followed by closing quotes/brackets. */
export function endsWithTerminalPunctuation(text: string): boolean {
  const trimmed = text.trimEnd().replace(TRAILING_CLOSERS, "");
  return TERMINAL.test(trimmed);
}

export function endsMidSentence(text: string): boolean {
  return !endsWithTerminalPunctuation(text);
}
