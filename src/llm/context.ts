import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { Messages } from "./types";

/**
 * OpenAI's tokenizer, loaded at the first count: its tables take half a second to load, which a
 * process that never counts a prompt (most `folio` commands, a gateway) need not pay.
 */
let encode: ((text: string) => number[]) | undefined;
const tokenizer = () => {
  encode ??= (createRequire(import.meta.url)("gpt-tokenizer") as typeof import("gpt-tokenizer")).encode;
  return encode;
};

/** The chat format's own tokens around each message. */
const PER_MESSAGE = 4;

/**
 * Counts of recent message texts, by a digest of each (the texts themselves are not kept). A project's
 * system message and cached prefix open every drafting and rewrite prompt, byte for byte, so each is
 * counted once rather than on every call, however many projects' calls come in between.
 */
const recent = new Map<string, number>();
const RECENT_TEXTS = 512;
/** Shorter texts are counted afresh: it costs less than a digest. */
const WORTH_REMEMBERING = 256;

/** Tokens of one text, counted the way OpenAI's tokenizer counts them. */
export function tokensOfText(text: string): number {
  if (text.length < WORTH_REMEMBERING) return tokenizer()(text).length;
  const key = createHash("sha1").update(text).digest("base64");
  const known = recent.get(key);
  if (known !== undefined) {
    recent.delete(key);
    recent.set(key, known);
    return known;
  }
  const count = tokenizer()(text).length;
  if (recent.size >= RECENT_TEXTS) recent.delete(recent.keys().next().value!);
  recent.set(key, count);
  return count;
}

function textOf(message: Messages[number]): string {
  const content = message.content;
  return typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((part) => ("text" in part ? part.text : "")).join("")
      : "";
}

/** About how many tokens a prompt is, counted the way OpenAI's tokenizer counts them. */
export function promptTokens(messages: Messages): number {
  let total = 3;
  for (const message of messages) total += PER_MESSAGE + tokensOfText(textOf(message));
  return total;
}

/**
 * A bound no tokenizer's count of the prompt exceeds: a token is at least one byte of UTF-8. Far
 * cheaper than counting, so a prompt that plainly fits its window is sent without being counted first.
 */
export function promptTokensAtMost(messages: Messages): number {
  let total = 3;
  for (const message of messages) total += PER_MESSAGE + Buffer.byteLength(textOf(message));
  return total;
}

/** Below this, a prompt is too short for a lost start to be told from a different tokenizer. */
const MEASURABLE = 1_000;
/**
 * Folio counts with o200k, which gives about the fewest tokens of the common tokenizers: others count
 * the same English a little more, or within a few percent less. A server reporting under 85% of the
 * count has dropped text.
 */
const READ_SHARE = 0.85;

/**
 * True when the server says it read far fewer prompt tokens than were sent: it cut the prompt to fit
 * a small context window without saying so (Ollama does this by default), and the answer is built on
 * a prompt without its beginning.
 */
export function silentlyTruncated(sent: number, reported: number): boolean {
  return sent >= MEASURABLE && reported > 0 && reported < sent * READ_SHARE;
}

export function truncationAdvice(sent: number, reported: number): string {
  return [
    `The model endpoint read only ${reported} of the about ${sent} prompt tokens it was sent: its context`,
    "window is smaller than Folio's prompts, and it dropped their beginning without saying so. Give the",
    "model a larger context (Ollama: OLLAMA_CONTEXT_LENGTH=32768 in the server's environment, or num_ctx),",
    "or use a model with a larger window; or make Folio's prompts fit this window with a smaller",
    `FOLIO_CONTEXT_TOKENS (the server kept ${reported} tokens of this prompt). Then retry.`,
  ].join(" ");
}
