import { findMetaText } from "./meta";

/** Longer than this, a first or last line is prose, whatever it starts with. */
const MAX_CHATTER_LINE = 200;
const OPENING = new Set(["assistant preamble", "assistant opening"]);
const CLOSING =
  /^(?:let me know|i hope|feel free|would you like|do you want|shall i|if you(?:['’]d| would) like)\b/i;
const RULE = /^\s*(?:-{3,}|\*{3,}|_{3,})\s*$/;

/**
 * A model's prose answer without the one line of chatter it may open or close with ("Certainly! Here is
 * the scene:", "Let me know if you'd like changes."), and a separator rule beside it. Only whole lines
 * at the very start and end are taken, so a character may still say "Here it is" or "I hope so".
 */
export function stripChatter(text: string): { text: string; removed: string[] } {
  const lines = text.trim().split("\n");
  const removed: string[] = [];
  const first = lines[0]?.trim() ?? "";
  if (lines.length > 1 && isOpening(first)) {
    removed.push(first);
    lines.shift();
    dropRule(lines, 0);
  }
  const last = lines.at(-1)?.trim() ?? "";
  if (lines.length > 1 && isClosing(last)) {
    removed.push(last);
    lines.pop();
    dropRule(lines, -1);
  }
  return { text: removed.length > 0 ? lines.join("\n").trim() : text.trim(), removed };
}

function isOpening(line: string): boolean {
  if (line.length > MAX_CHATTER_LINE || /["“”]/.test(line)) return false;
  return findMetaText(line).some((finding) => OPENING.has(finding.split(":")[0]!));
}

function isClosing(line: string): boolean {
  if (line.length > MAX_CHATTER_LINE || /["“”]/.test(line)) return false;
  return CLOSING.test(line) || findMetaText(line).some((finding) => finding.startsWith("sign-off"));
}

/** Blank lines and one separator rule next to removed chatter go with it. */
function dropRule(lines: string[], at: 0 | -1): void {
  const edge = () => (at === 0 ? lines[0] : lines.at(-1)) ?? "x";
  const take = () => (at === 0 ? lines.shift() : lines.pop());
  while (lines.length > 0 && edge().trim() === "") take();
  if (lines.length > 1 && RULE.test(edge())) take();
}
