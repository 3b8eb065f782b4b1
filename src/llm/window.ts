import { type Config, modelFor } from "../config";
import type { ModelRole } from "./types";

/**
 * The model's context window: prompt and answer together. `FOLIO_CONTEXT_TOKENS` when set, otherwise
 * what the model's family is known to have. A local server may run a model with a smaller window than
 * the model has (Ollama's default is a few thousand tokens); that is caught from the prompt tokens it
 * reports (see `context.ts`), and `FOLIO_CONTEXT_TOKENS` makes Folio's prompts fit it.
 */
export const UNKNOWN_MODEL_WINDOW = 128_000;

/** Model names as OpenAI, Ollama (`llama3.1:8b`) and OpenRouter (`meta-llama/llama-3.1-70b`) spell them. */
const FAMILIES: [RegExp, number][] = [
  [/^gpt-4\.1/, 1_047_576],
  [/^gpt-5/, 400_000],
  [/^(chatgpt-4o|gpt-4o|gpt-4-turbo|o1-mini)/, 128_000],
  [/^o[134](-|$)/, 200_000],
  [/^gpt-3\.5-turbo/, 16_385],
  [/^gpt-4(-\d+)?$/, 8_192],
  [/^llama-?3\.[123]/, 131_072],
  [/^llama-?3(?![.\d])/, 8_192],
  [/^qwen-?2\.5/, 32_768],
  [/^mistral(?!-(nemo|large|medium))/, 32_768],
  [/^gemma-?2/, 8_192],
  [/^gemma-?3/, 131_072],
];

export function defaultContextTokens(model: string): number {
  // OpenRouter names the provider first: `meta-llama/llama-3.1-70b-instruct`.
  const name = model.toLowerCase().replace(/^.*\//, "");
  return FAMILIES.find(([family]) => family.test(name))?.[1] ?? UNKNOWN_MODEL_WINDOW;
}

/** The window of the model that plays `role`. */
export function contextTokens(config: Config, role: ModelRole): number {
  return config.FOLIO_CONTEXT_TOKENS ?? defaultContextTokens(modelFor(config, role));
}

/**
 * Tokens of the window kept free besides the prompt and the answer's budget: the chat template, and a
 * tokenizer that counts a little more than OpenAI's. One that counts far more wants a smaller
 * `FOLIO_CONTEXT_TOKENS`.
 */
export const windowMargin = (window: number) => Math.ceil(window * 0.05);

/**
 * Why a prompt was not sent, and what to change. `answer` is the room its answer needs beside it;
 * `shortened` says the prompt is already the smallest its stage can make.
 */
export function windowAdvice(
  config: Config,
  role: ModelRole,
  prompt: number,
  answer: number,
  shortened: boolean,
): string {
  const window = contextTokens(config, role);
  const source =
    config.FOLIO_CONTEXT_TOKENS === undefined
      ? `the default for ${modelFor(config, role)}`
      : "FOLIO_CONTEXT_TOKENS";
  const needs = answer > 0 ? `, with room for an answer of ${answer} tokens,` : "";
  return [
    `A prompt of about ${prompt} tokens${needs} does not fit the model's context window of ${window} tokens`,
    `(${source})${shortened ? ", even with the story around it shortened" : ""}. Use a model with a larger window and set`,
    "FOLIO_CONTEXT_TOKENS to it, or raise FOLIO_CONTEXT_TOKENS if this model's window is larger, then retry.",
  ].join(" ");
}
