import { countWords, lastWords } from "../text/words";
import type { Messages } from "./types";

/**
 * How long an answer may be, and what to do when the model stops at that limit
 * (`finish_reason: "length"`): prose is continued from its last whole sentence, a JSON answer is asked
 * again with room to finish. The same request is never sent twice.
 */

/** English prose runs about 1.3 tokens a word; the rest is headroom for the model's own count. */
export const tokensForWords = (words: number) => Math.ceil(words * 1.35);

/** `max_completion_tokens` for an answer expected to be about `expected` tokens, within the ceiling. */
export function outputBudget(expected: number | undefined, ceiling: number): number {
  if (expected === undefined) return ceiling;
  return Math.min(ceiling, Math.ceil(expected * 1.25) + 64);
}

/** The next budget for a JSON answer that was cut off, or undefined when the ceiling is already reached. */
export function largerBudget(budget: number, ceiling: number): number | undefined {
  return budget >= ceiling ? undefined : Math.min(ceiling, budget * 2);
}

/** Continuations of one cut-off prose answer before what was written is taken as it stands. */
export const MAX_CONTINUATIONS = 3;

const SENTENCE_END = /[.!?…]["”’')\]]*(?=\s|$)/g;

/** The text up to its last complete sentence: what was cut mid-word or mid-sentence is dropped. */
export function keepWholeSentences(text: string): string {
  const trimmed = text.trimEnd();
  let end = -1;
  for (const match of trimmed.matchAll(SENTENCE_END)) end = match.index + match[0].length;
  return end > 0 ? trimmed.slice(0, end) : trimmed;
}

/** Asks the model to go on from where its answer stopped, for about `words` more words. */
export function continuationMessages(messages: Messages, soFar: string, words: number): Messages {
  return [
    ...messages,
    { role: "assistant", content: soFar },
    {
      role: "user",
      content: [
        "Your answer stopped at the output limit. It ends with:",
        `"""\n${lastWords(soFar, 120)}\n"""`,
        "Continue from exactly there to the end, without repeating anything and without any comment.",
        `Target length: about ${words} words.`,
      ].join("\n\n"),
    },
  ];
}

/** Words still to write when `soFar` has been written of an answer expected to be `expected` words. */
export const wordsStillWanted = (soFar: string, expected: number | undefined) =>
  Math.max(60, (expected ?? 300) - countWords(soFar));

/** A continuation that begins with a line break opens a new paragraph; otherwise it goes on the same one. */
export const opensParagraph = (raw: string) => /^[ \t]*\r?\n/.test(raw);

/** One text from the parts of a continued answer, each joined as it began. */
export function joinParts(parts: { text: string; newParagraph: boolean }[]): string {
  return parts.reduce(
    (joined, part) =>
      !joined ? part.text.trim() : `${joined}${part.newParagraph ? "\n\n" : " "}${part.text.trim()}`,
    "",
  );
}
