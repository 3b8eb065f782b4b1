/**
 * Over 300 lines: a whole fake of the Chat Completions API: schema-driven answers, prose of a requested
 * length, usage with cached tokens, and every fault a test can ask for, sharing one request log.
 *
 * A local fake of the OpenAI Chat Completions API, for tests and the benchmark.
 *
 * The real `openai` client talks to it over HTTP on 127.0.0.1. Structured requests (`json_schema`) are
 * answered with a value generated from their schema, prose requests with text of the requested length.
 * Usage is reported like OpenAI does, including cached prompt tokens, and faults (500, 429, hangs,
 * truncated JSON, short prose) can be injected with seeded probabilities so runs are reproducible.
 * Every request is checked against OpenAI's own OpenAPI specification (see `tests/helpers/openapi.ts`):
 * one that breaks it gets OpenAI's 400 `invalid_request_error` and is recorded in `violations`.
 *
 * Standalone: `npx tsx tests/fakes/llm-server.ts --port 0 --latency 50 --seed 1 [--api-key K]
 * [--log FILE] [--faults '{"rate500":0.2}'] [--realistic]` prints `{"url":...}` on one line and runs until SIGTERM.
 */
import { appendFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { decode, encode as encodeText } from "gpt-tokenizer";
import { describeViolation, formatPath, requestViolations, type Violation, warmUp } from "../helpers/openapi";
import { strictSchemaProblems } from "./strict-schema";

/**
 * The tokenizer, remembering its last few texts: an answer is counted for its usage, cut at an output
 * cap and streamed in token chunks, and tokenizing is the most of what this server spends its time on.
 */
const encoded = new Map<string, number[]>();
function encode(text: string): number[] {
  const known = encoded.get(text);
  if (known) return known;
  const tokens = encodeText(text);
  if (encoded.size >= 32) encoded.delete(encoded.keys().next().value!);
  encoded.set(text, tokens);
  return tokens;
}

export interface FakeLlmFaults {
  /** Probability 0..1 that a request gets HTTP 500 (OpenAI error JSON body). */
  rate500?: number;
  /** Probability of HTTP 429 with a `retry-after` header (seconds) = `retryAfterSeconds`. */
  rate429?: number;
  /** Default 0; when set, `retry-after-ms` is sent as well. */
  retryAfterSeconds?: number;
  /** Probability that the request is never answered (socket stays open until the client gives up). */
  rateHang?: number;
  /** Structured requests only: 200 OK, but the JSON is cut off at half its length. */
  rateTruncatedJson?: number;
  /** Prose requests only: write only 30% of the requested words. */
  rateShortProse?: number;
  /** Any request whose messages contain one of these substrings always gets HTTP 500. */
  failWhenPromptIncludes?: string[];
  /**
   * Prose requests whose last user message contains `match` get a spoiled answer: `half` writes half
   * the requested words, `cut` stops mid-sentence, `meta` breaks the prose with "Here is the revised
   * scene:" halfway (inside the text, where no chatter cleaning may take it away).
   */
  spoilProse?: { match: string; kind: "half" | "cut" | "meta" }[];
  /**
   * Requests whose last user message contains `match` are declined: `refusal` answers with
   * `message.refusal` set and no content (as OpenAI's safety refusals do); `content_filter` stops the
   * answer early with `finish_reason: "content_filter"`. With `times`, only the first that many
   * matching requests are declined, as a safety system that misfires once.
   */
  decline?: { match: string; kind: "refusal" | "content_filter"; times?: number }[];
  /** Prose requests only: probability that the answer is wrapped in a line of assistant chatter each side. */
  rateChatter?: number;
  /**
   * JSON-mode requests only: probability that the answer leaves out a required field, as models
   * without schema support do; a request that says its last answer "does not match" is answered right.
   */
  rateSchemaMismatch?: number;
  /** Streamed requests only: probability that the stream goes silent halfway, the socket left open. */
  rateStall?: number;
  /** Prose requests only: probability of a refusal (`message.refusal`), as safety systems misfire. */
  rateRefusal?: number;
  /** Prose requests only: write this share of the requested words, drawn between the two bounds. */
  underwrite?: [number, number];
  /** Scene critiques: every rubric score of the scene with this number is the given one. */
  rubric?: Record<number, number>;
  /** Surgical edits: add one edit that matches nothing and one that matches many places. */
  editMisses?: boolean;
  /** Rewrites ("Revise scene …") only: their own share of the requested words, instead of `underwrite`. */
  rewriteUnderwrite?: [number, number];
  /** Prose requests only: every answer ends with this sentence, as a model with a habit ends every scene alike. */
  sceneEnding?: string;
  /** Prose requests only: probability that the model rambles on to three times the requested length. */
  rateRunaway?: number;
  /**
   * What scene digests record in the story-state ledger, scene by scene; digests of other scenes
   * record no character changes (and one open thread each).
   */
  ledger?: {
    scene: number;
    character?: string;
    location?: string;
    condition?: string;
    learned?: string[];
    threadOpened?: string;
    threadClosed?: string;
  }[];
}

/**
 * A model as real endpoints behave, for full-novel tests: prose at 60–85% of the requested length, now
 * and then rambling on until it is cut off at `max_completion_tokens` or its output cap of 4,096 tokens
 * (`finish_reason: "length"`), a chatter line around one answer in ten, a
 * refusal now and then, a 32,768-token window that silently drops the start of longer prompts, strict
 * schemas, and answers that stream with pauses. Options given beside it take precedence.
 */
export const REALISTIC: Pick<FakeLlmOptions, "outputCap" | "contextWindow" | "stream" | "strictSchemas"> & {
  faults: FakeLlmFaults;
} = {
  outputCap: 4_096,
  contextWindow: 32_768,
  stream: { tokensPerChunk: 16, pauseEveryTokens: 400, pauseMs: 5 },
  strictSchemas: true,
  faults: { underwrite: [0.6, 0.85], rateRunaway: 0.04, rateChatter: 0.1, rateRefusal: 0.004 },
};

/**
 * How a streamed answer (`stream: true`) trickles out: `tokensPerChunk` tokens per chunk (default 8),
 * `chunkDelayMs` between chunks (default 0), and a longer `pauseMs` every `pauseEveryTokens` tokens,
 * as a local model does while it works through a long answer.
 */
export interface FakeStreamPace {
  tokensPerChunk?: number;
  chunkDelayMs?: number;
  pauseEveryTokens?: number;
  pauseMs?: number;
}

/**
 * A key's request allowance as OpenAI enforces it: `requests` per window of `windowMs`. Every answer
 * carries `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests` and
 * `x-ratelimit-reset-requests`; a request over the allowance gets a 429 with `retry-after-ms`.
 */
export interface FakeRateLimit {
  requests: number;
  windowMs: number;
}

export interface FakeLlmOptions {
  /** 0 = random free port. */
  port?: number;
  /** Fixed delay before every answer (except 401), default 0. */
  latencyMs?: number;
  seed?: number;
  /** When set, any other bearer token gets 401. */
  apiKey?: string;
  faults?: FakeLlmFaults;
  /** Append each log entry (without `prompt`) as a JSON line. */
  logFile?: string;
  /**
   * Refuse a `strict: true` json_schema that OpenAI's strict mode would refuse, with a 400 (default).
   * `false` answers any schema, as servers without strict mode do.
   */
  strictSchemas?: boolean;
  /**
   * The most tokens the model writes in one answer, whatever it is asked (a local model's output cap).
   * An answer is also cut at the request's `max_completion_tokens`; either way `finish_reason: "length"`.
   */
  outputCap?: number;
  /**
   * The model's context window in tokens. A longer prompt loses its beginning without a word, and the
   * usage reports only what was kept (as Ollama does with its default context length).
   */
  contextWindow?: number;
  stream?: FakeStreamPace;
  rateLimit?: FakeRateLimit;
  /**
   * Which output limit of a request the server reads: both (default, as OpenAI and current vLLM do), or
   * only `max_tokens`, as Ollama's and LM Studio's `/v1` do: `max_completion_tokens` is then ignored.
   */
  reads?: "both" | "max_tokens";
}

export type FakeLlmOutcome =
  | "ok"
  | "500"
  | "429"
  | "hang"
  | "truncated"
  | "short"
  | "401"
  | "invalid_schema"
  | "refusal"
  | "content_filter"
  | "length"
  | "stall"
  | "invalid_request";

/** Lines real chat models wrap prose in. */
export const CHATTER_OPENINGS = [
  "Certainly! Here is the scene:",
  "Sure, here's the revised scene:",
  "Here is the scene you asked for:\n\n---",
] as const;
export const CHATTER_CLOSINGS = [
  "Let me know if you'd like any changes!",
  "I hope this captures the mood you were looking for.",
  "---\n\nWould you like me to adjust the pacing?",
] as const;

/** What the fake says when it declines, in the words OpenAI's models use. */
export const FAKE_REFUSAL = "I'm sorry, but I can't help with that request.";

export interface FakeLlmLogEntry {
  seq: number;
  /** ms epoch */
  at: number;
  model: string;
  kind: "structured" | "prose";
  schemaName: string | null;
  /** first line of the LAST user message */
  firstLine: string;
  outcome: FakeLlmOutcome;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  durationMs: number;
  /** full concatenated prompt text (all message contents joined with "\n") */
  prompt: string;
  /** The request's `max_completion_tokens` (or `max_tokens`), if it set one the server reads. */
  maxTokens: number | null;
  /** Everything the request sent besides its messages. */
  params: Record<string, unknown>;
  /** Why the request was refused, for `outcome: "invalid_request"`: how it breaks OpenAI's spec. */
  violations?: string[];
}

/** A request the fake refused because it breaks OpenAI's OpenAPI specification. */
export interface FakeLlmViolation {
  /** The log entry's `seq`, for chat requests. */
  seq?: number;
  method: string;
  path: string;
  /** One readable sentence per problem, e.g. `POST /chat/completions: body.temperature must be number or null`. */
  problems: string[];
}

export interface FakeLlm {
  /** Base URL ending in /v1, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  log: FakeLlmLogEntry[];
  /** Requests refused for breaking OpenAI's OpenAPI specification; empty when everything conformed. */
  violations: FakeLlmViolation[];
  /** Replaces the whole fault set. */
  setFaults(f: FakeLlmFaults): void;
  setLatency(ms: number): void;
  /** Requests received and not yet answered or aborted. */
  inFlight(): number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Seeded randomness: every request gets its own streams derived from (seed, seq), so answers do not
// depend on how concurrent requests interleave once their sequence numbers are assigned.

type Rng = () => number;

function mulberry32(seed: number): Rng {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rngFor(seed: number, seq: number, stream: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (seq + 0x632be5ab), 0xc2b2ae35);
  h = Math.imul(h ^ (stream * 0x27d4eb2f), 0x165667b1);
  return mulberry32(h ^ (h >>> 16));
}

/** Integer in [lo, hi], inclusive. */
function between(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = between(rng, 0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Splits `total` into parts each within [min, max] (one short part if `total < min`). Each part is drawn
 * uniformly from what still leaves the rest feasible, which gives varied lengths rather than a pile-up
 * around the mean.
 */
function splitTotal(rng: Rng, total: number, min: number, max: number): number[] {
  if (total <= 0) return [];
  if (total < min) return [total];
  const fewest = Math.ceil(total / max);
  const most = Math.floor(total / min);
  const count = Math.min(most, Math.max(fewest, Math.round(total / ((min + max) / 2))));
  const parts: number[] = [];
  let left = total;
  for (let k = count; k > 0; k--) {
    const lo = Math.max(min, left - (k - 1) * max);
    const hi = Math.min(max, left - (k - 1) * min);
    const part = between(rng, lo, hi);
    parts.push(part);
    left -= part;
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------------
// Vocabulary. Plain, concrete words on purpose: tests that look for stock AI phrases or em-dashes in
// the app's output must not trip over the fake's own text.

const FULL_NAMES = (
  "Mara Quill, Tobias Fenn, Ilse Marrow, Jonah Reyes, Priya Castell, Oren Vale, Hattie Brand, Felix Ardent, " +
  "Nadia Orlov, Cyrus Penhale, Wren Hollis, Abel Sutter, Lena Kowal, Rafael Ostrom, Greta Linde, " +
  "Simon Achebe, Juno Talbot, Declan Mirza, Ada Okafor, Milo Strand, Vera Lindqvist, Elias Crane, " +
  "Noor Haddad, Pascal Drury, Beatrix Moss, Silas Oduya, Clara Voss, Idris Kell, Tamsin Rook, " +
  "Luca Ferrante, Odette Blum, Rowan Pike, Sunniva Hale, Theo Marchetti, Ines Calder, Gideon Shaw, " +
  "Yara Benoit, Casimir Dale, Freya Lund, Kofi Mensah"
).split(", ");

const FIRST_NAMES = FULL_NAMES.map((n) => n.split(" ")[0]!);

const NOUNS = (
  "door window lamp kettle table chair letter key coat boot road river bridge field orchard barn fence gate " +
  "garden kitchen attic cellar stair hallway harbor boat rope net sail dock market bakery shop church bell " +
  "clock tower station train ticket platform map ledger book page pencil envelope photograph mirror drawer " +
  "basket bucket shovel ladder hammer wall roof chimney stove bread apple cup plate spoon candle blanket " +
  "pillow curtain rug dog horse goat crow fox hill valley forest path stone pond well meadow cliff shore " +
  "storm cloud lantern wagon cart tent fire coin purse radio bicycle umbrella suitcase violin piano song " +
  "story promise secret message knot thread needle button scarf glove hat jacket trunk desk shelf fountain"
).split(" ");

const ADJECTIVES = (
  "old quiet narrow wide cold warm damp dry small heavy bright dim rusted painted broken empty crowded " +
  "distant wooden iron copper pale dark green gray blue red yellow crooked steady loose clean dusty muddy " +
  "sharp soft rough smooth long short late early patient stubborn careful tired restless familiar strange " +
  "borrowed spare hidden open wet thin thick frozen silver cracked faded"
).split(" ");

const VERBS = (
  "opened closed carried lifted dropped found lost watched checked counted cleaned mended folded painted " +
  "pushed pulled held kept left moved filled emptied touched studied wrapped crossed followed fixed sold " +
  "bought borrowed returned hid locked unlocked raised lowered tested measured sorted stacked swept " +
  "polished loaded shared noticed ignored remembered traded dragged tied guarded shook turned signed " +
  "copied buried brushed"
).split(" ");

const PREPOSITIONS =
  "through across under behind beside near past toward along inside over beyond against around below".split(
    " ",
  );

const ADVERBS = (
  "slowly quickly quietly carefully gently again twice anyway briefly loudly softly firmly early later " +
  "outside upstairs downstairs alone together"
).split(" ");

const TIME_PHRASES = (
  "that morning, after dark, at dawn, by noon, before supper, last winter, next spring, all afternoon, " +
  "once more, until midnight, every Sunday, before breakfast, that evening, in silence, without hurry, " +
  "for hours, for luck, after lunch"
).split(", ");

const PRONOUNS = ["she", "he", "they", "we", "I"];
const DETERMINERS = ["the", "the", "the", "her", "his", "their", "our", "that", "one"];
const CONJUNCTIONS = ["because", "while", "before", "after", "when", "since", "until"];

/** Generates names, titles, sentences and prose from one request's random stream. */
class TextGen {
  private names: string[] = [];

  constructor(private readonly rng: Rng) {}

  /** A full name, distinct from the ones already used in this response until the pool runs out. */
  name(): string {
    if (this.names.length === 0) this.names = shuffled(this.rng, FULL_NAMES);
    return this.names.pop()!;
  }

  /** 2 to 4 title-cased words. */
  title(): string {
    const r = this.rng;
    const patterns = [
      () => [pick(r, ADJECTIVES), pick(r, NOUNS)],
      () => ["the", pick(r, ADJECTIVES), pick(r, NOUNS)],
      () => ["the", pick(r, ADJECTIVES), pick(r, NOUNS), pick(r, NOUNS)],
    ];
    return pick(r, patterns)()
      .map((w) => capitalise(w))
      .join(" ");
  }

  /** A sentence with 6 to 16 words, for free-text fields. */
  sentence(): string {
    return this.sentenceOf(between(this.rng, 6, 16), ".");
  }

  /** Exactly `words` words of prose in paragraphs (a request for under 4 words gets a 4-word sentence). */
  prose(words: number): string {
    return splitTotal(this.rng, words, 60, 140)
      .map((size, i) => this.paragraph(size, i % 4 === 1))
      .join("\n\n");
  }

  private paragraph(words: number, withDialogue: boolean): string {
    const lengths = splitTotal(this.rng, words, 6, 20);
    return lengths
      .map((len, i) => (withDialogue && i === 0 && len >= 6 ? this.dialogue(len) : this.sentenceOf(len)))
      .join(" ");
  }

  /** A quoted line plus attribution, `words` words in total, e.g. `"We crossed the bridge," Mara said.` */
  private dialogue(words: number): string {
    const asked = this.rng() < 0.3;
    const spoken = this.clause(words - 2).join(" ");
    const speaker = pick(this.rng, FIRST_NAMES);
    return `"${capitalise(spoken)}${asked ? "?" : ","}" ${speaker} ${asked ? "asked" : "said"}.`;
  }

  /** Mostly statements; a few exclamations and "who" questions so punctuation varies. */
  private sentenceOf(words: number, forcedEnd?: string): string {
    const roll = this.rng();
    const end = forcedEnd ?? (roll < 0.06 ? "?" : roll < 0.12 ? "!" : ".");
    const body = end === "?" ? ["who", ...this.predicate(words - 1)] : this.clause(words);
    return `${capitalise(body.join(" "))}${end}`;
  }

  /** Subject + predicate, exactly `words` words (at least 4). */
  private clause(words: number): string[] {
    const subject = this.subject(Math.min(3, words - 3));
    return [...subject, ...this.predicate(words - subject.length)];
  }

  /** Mostly people, so the prose reads as people doing things; sometimes a thing. */
  private subject(maxWords: number): string[] {
    const r = this.rng;
    if (maxWords < 2 || r() < 0.65) return [r() < 0.5 ? pick(r, PRONOUNS) : pick(r, FIRST_NAMES)];
    return maxWords >= 3 && r() < 0.5
      ? ["the", pick(r, ADJECTIVES), pick(r, NOUNS)]
      : ["the", pick(r, NOUNS)];
  }

  /** Verb + object, then phrases until exactly `words` words (at least 3). */
  private predicate(words: number): string[] {
    const out = [pick(this.rng, VERBS), ...this.nounPhrase(Math.min(3, words - 1))];
    while (out.length < words) out.push(...this.extension(words - out.length));
    return out;
  }

  private nounPhrase(maxWords: number): string[] {
    const r = this.rng;
    if (maxWords >= 3 && r() < 0.5) return [pick(r, DETERMINERS), pick(r, ADJECTIVES), pick(r, NOUNS)];
    return [pick(r, DETERMINERS), pick(r, NOUNS)];
  }

  /** A phrase of at most `room` words that extends a predicate. Every size from 1 up can be filled. */
  private extension(room: number): string[] {
    const r = this.rng;
    const roll = r();
    if (room === 1) return [pick(r, ADVERBS)];
    if (room === 2 || roll < 0.15) return pick(r, TIME_PHRASES).split(" ");
    if (room >= 5 && roll < 0.4) {
      return [pick(r, CONJUNCTIONS), pick(r, PRONOUNS), pick(r, VERBS), ...this.nounPhrase(room - 3)];
    }
    if (room >= 4 && roll < 0.6) return ["and", pick(r, VERBS), ...this.nounPhrase(room - 2)];
    return [pick(r, PREPOSITIONS), ...this.nounPhrase(room - 1)];
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------------------------------
// JSON Schema → value. Covers what zod's toJSONSchema and OpenAI strict mode produce; anything unknown
// falls back to a sentence so the answer is at least well-formed JSON.

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema | Schema[] | boolean;
  prefixItems?: Schema[];
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  format?: string;
  /** Ignored on purpose: a non-null value is always valid, and more useful to the caller. */
  nullable?: boolean;
}

/** Beyond this depth recursive schemas stop growing: arrays get their minimum length, objects only required keys. */
const MAX_DEPTH = 8;
/** Integers beyond this are zod's "any safe integer" bounds, not a real range. */
const HUGE = 1e15;

class SchemaFaker {
  constructor(
    private readonly root: Schema,
    private readonly text: TextGen,
    private readonly rng: Rng,
  ) {}

  value(schema: Schema | boolean, key: string | null = null, depth = 0): unknown {
    // `true` and `{}` both mean "anything"; a string is as good an anything as any.
    const s = this.resolve(typeof schema === "object" && schema !== null ? schema : {});
    if ("const" in s) return s.const;
    if (s.enum) return pick(this.rng, nonNull(s.enum));
    const branches = s.anyOf ?? s.oneOf;
    if (branches) return this.value(branches.find((b) => !isNullSchema(b)) ?? branches[0]!, key, depth);
    if (s.allOf) return this.value(mergeAll(s.allOf.map((b) => this.resolve(b))), key, depth);
    switch (typeOf(s)) {
      case "object":
        return this.object(s, depth);
      case "array":
        return this.array(s, key, depth);
      case "integer":
        return this.number(s, true);
      case "number":
        return this.number(s, false);
      case "boolean":
        return this.rng() < 0.5;
      case "null":
        return null;
      default:
        return this.string(s, key);
    }
  }

  private resolve(schema: Schema): Schema {
    let s = schema;
    for (let hops = 0; s.$ref !== undefined && hops < 32; hops++) {
      const target = lookupPointer(this.root, s.$ref);
      if (!target) throw new Error(`unresolvable $ref ${s.$ref}`);
      s = target;
    }
    return s;
  }

  private object(s: Schema, depth: number): Record<string, unknown> {
    const props = s.properties ?? {};
    const required = s.required ?? [];
    const keys = depth >= MAX_DEPTH ? required : [...new Set([...Object.keys(props), ...required])];
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = this.value(props[k] ?? {}, k, depth + 1);
    return out;
  }

  private array(s: Schema, key: string | null, depth: number): unknown[] {
    const tuple = s.prefixItems ?? (Array.isArray(s.items) ? s.items : []);
    // `items: false` (closed tuple) is not a schema for extra elements.
    const rest = Array.isArray(s.items) || typeof s.items !== "object" ? undefined : s.items;
    const length = depth >= MAX_DEPTH ? (s.minItems ?? 0) : arrayLength(s.minItems, s.maxItems, tuple.length);
    const out: unknown[] = [];
    for (let i = 0; i < length; i++) out.push(this.value(tuple[i] ?? rest ?? {}, key, depth + 1));
    return out;
  }

  private number(s: Schema, integer: boolean): number {
    let lo = s.minimum;
    let hi = s.maximum;
    const exMin = exclusiveBound(s.exclusiveMinimum, lo);
    const exMax = exclusiveBound(s.exclusiveMaximum, hi);
    if (exMin !== undefined) lo = integer ? Math.floor(exMin) + 1 : exMin + 0.01;
    if (exMax !== undefined) hi = integer ? Math.ceil(exMax) - 1 : exMax - 0.01;
    if (lo !== undefined && lo <= -HUGE) lo = undefined;
    if (hi !== undefined && hi >= HUGE) hi = undefined;
    const [from, to] = numberRange(lo, hi, integer ? 1 : 0);
    if (integer) return between(this.rng, Math.ceil(from), Math.floor(to));
    const x = Math.round((from + (to - from) * this.rng()) * 100) / 100;
    return Math.min(to, Math.max(from, x));
  }

  private string(s: Schema, key: string | null): string {
    const base = this.formatted(s.format) ?? this.byName(key);
    return fitLength(base, s.minLength ?? 0, s.maxLength ?? Number.POSITIVE_INFINITY, () =>
      this.text.sentence(),
    );
  }

  private byName(key: string | null): string {
    if (key === "name" || key?.endsWith("Name")) return this.text.name();
    if (key === "title") return this.text.title();
    return this.text.sentence();
  }

  private formatted(format: string | undefined): string | undefined {
    const day = () => new Date(Date.UTC(2024, 0, 1) + between(this.rng, 0, 365) * 86_400_000).toISOString();
    switch (format) {
      case "date-time":
        return day();
      case "date":
        return day().slice(0, 10);
      case "email":
        return `${this.text.name().toLowerCase().replace(" ", ".")}@example.com`;
      case "uri":
      case "url":
        return `https://example.com/${pick(this.rng, NOUNS)}`;
      case "uuid":
        return uuid(this.rng);
      default:
        return undefined;
    }
  }
}

function typeOf(s: Schema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== "null") ?? "null";
  if (s.type) return s.type;
  if (s.properties) return "object";
  if (s.items || s.prefixItems) return "array";
  return undefined;
}

function isNullSchema(s: Schema): boolean {
  return s.type === "null" || (Array.isArray(s.enum) && s.enum.every((v) => v === null));
}

function nonNull(values: unknown[]): unknown[] {
  const kept = values.filter((v) => v !== null);
  return kept.length > 0 ? kept : values;
}

/** Shallow merge for `allOf` (zod emits it for intersections): union of properties and required keys. */
function mergeAll(parts: Schema[]): Schema {
  let merged: Schema = {};
  for (const { allOf: _nested, ...p } of parts) {
    merged = {
      ...merged,
      ...p,
      properties: { ...merged.properties, ...p.properties },
      required: [...(merged.required ?? []), ...(p.required ?? [])],
    };
  }
  return merged;
}

/** Resolves `#/$defs/X`, `#/definitions/X`, `#` or any other local JSON pointer. */
function lookupPointer(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith("#")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split("/").filter(Boolean)) {
    const part = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    node = node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined;
  }
  return node && typeof node === "object" ? (node as Schema) : undefined;
}

/** Both bounds → 3 clamped into them; only min → min; only max → min(3, max); neither → 3 (or the tuple's length). */
function arrayLength(min: number | undefined, max: number | undefined, tupleLength: number): number {
  if (min !== undefined && max !== undefined) return Math.max(min, Math.min(max, 3));
  if (min !== undefined) return min;
  if (max !== undefined) return Math.min(3, max);
  return Math.max(3, tupleLength);
}

/** draft-4 uses `true` to make minimum/maximum exclusive; later drafts give the bound itself. */
function exclusiveBound(
  exclusive: number | boolean | undefined,
  inclusive: number | undefined,
): number | undefined {
  if (typeof exclusive === "number") return exclusive;
  return exclusive === true ? inclusive : undefined;
}

/** The default window (low..10) clipped to the schema's bounds, or a 10-wide window at the one bound given. */
function numberRange(lo: number | undefined, hi: number | undefined, low: number): [number, number] {
  const from = Math.max(low, lo ?? low);
  const to = Math.min(10, hi ?? 10);
  if (from <= to) return [from, to];
  if (lo !== undefined && hi !== undefined) return [lo, hi];
  if (lo !== undefined) return [lo, lo + 9];
  return [hi! - 9, hi!];
}

/** Pads with more sentences or cuts (at a word boundary when possible) to satisfy min/max length. */
function fitLength(base: string, min: number, max: number, more: () => string): string {
  let s = base;
  while (s.length < min) s = `${s} ${more()}`;
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  const atWord = cut.slice(0, cut.lastIndexOf(" ")).trimEnd();
  return atWord.length >= min && atWord.length > 0 ? atWord : cut;
}

function uuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => between(rng, 0, 15).toString(16));
  hex[12] = "4";
  hex[16] = "89ab"[between(rng, 0, 3)]!;
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------------
// Prompt caching, emulated like OpenAI: the longest prefix shared with a recent prompt of the same
// model counts as cached once it reaches 1024 tokens, in steps of 128.

const CACHE_HISTORY = 64;
const CACHE_MIN_TOKENS = 1024;
const CACHE_STEP = 128;

class PromptCache {
  private readonly byModel = new Map<string, string[]>();

  /** Cached tokens for `prompt`, then remembers it. */
  lookupAndStore(model: string, prompt: string): number {
    const history = this.byModel.get(model) ?? [];
    let longest = 0;
    for (const previous of history) longest = Math.max(longest, commonPrefixLength(previous, prompt));
    history.push(prompt);
    if (history.length > CACHE_HISTORY) history.shift();
    this.byModel.set(model, history);
    // A token covers at least one character, so a shorter prefix cannot reach the threshold.
    if (longest < CACHE_MIN_TOKENS) return 0;
    const tokens = encode(prompt.slice(0, longest)).length;
    return tokens >= CACHE_MIN_TOKENS ? Math.floor(tokens / CACHE_STEP) * CACHE_STEP : 0;
  }
}

/** Compares in 256-character chunks first: prompts are long and usually share most of their start. */
function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  const chunk = 256;
  let i = 0;
  while (i + chunk <= n && a.startsWith(b.slice(i, i + chunk), i)) i += chunk;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

// ---------------------------------------------------------------------------------------------------
// Request parsing.

interface ChatMessage {
  role?: string;
  content?: string | Array<{ type?: string; text?: string }> | null;
}

interface ChatRequest {
  model?: string;
  messages?: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_completion_tokens?: number;
  max_tokens?: number;
  response_format?: { type?: string; json_schema?: { name?: string; strict?: boolean; schema?: Schema } };
}

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (part.type === "text" || part.text ? (part.text ?? "") : "")).join("");
}

function lastUserText(messages: ChatMessage[]): string {
  const user = messages.filter((m) => m.role === "user").at(-1);
  return user ? textOf(user.content) : "";
}

const TARGET_LENGTH = /Target length:\s*about\s*([\d,]+)\s*words/i;
const DEFAULT_PROSE_WORDS = 250;

function targetWords(userText: string): number {
  const match = TARGET_LENGTH.exec(userText);
  const n = match ? Number.parseInt(match[1]!.replaceAll(",", ""), 10) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_PROSE_WORDS;
}

/**
 * JSON mode (`response_format: json_object`) has no schema field: a client puts the schema in its
 * prompt, after a sentence ending "JSON Schema:", and the fake answers that schema.
 */
function schemaInPrompt(userText: string): Schema {
  const at = userText.lastIndexOf("JSON Schema:");
  if (at < 0) return {};
  try {
    return JSON.parse(userText.slice(at + "JSON Schema:".length).trim()) as Schema;
  } catch {
    return {};
  }
}

/** What we know about a chat request before deciding how to answer it. */
interface Parsed {
  schema: Schema;
  body: ChatRequest;
  model: string;
  kind: "structured" | "prose";
  schemaName: string | null;
  prompt: string;
  userText: string;
}

function parseChat(body: ChatRequest): Parsed {
  // Whatever arrived: a body that breaks the spec is still logged before it is refused.
  const messages = Array.isArray(body.messages)
    ? body.messages.filter((m): m is ChatMessage => typeof m === "object" && m !== null)
    : [];
  const structured =
    body.response_format?.type === "json_schema" || body.response_format?.type === "json_object";
  const userText = lastUserText(messages);
  return {
    body,
    model: typeof body.model === "string" ? body.model : "fake-model",
    kind: structured ? "structured" : "prose",
    schemaName: structured
      ? (body.response_format?.json_schema?.name ?? body.response_format?.type ?? null)
      : null,
    schema: body.response_format?.json_schema?.schema ?? schemaInPrompt(userText),
    prompt: messages.map((m) => textOf(m.content)).join("\n"),
    userText,
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP plumbing.

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": `req_fake_${Date.now().toString(36)}`,
    ...headers,
  });
  res.end(text);
}

/** OpenAI's answer to a strict `json_schema` it cannot accept, or null when the request is fine. */
function strictProblem(body: ChatRequest): string | null {
  const format = body.response_format;
  if (format?.type !== "json_schema" || format.json_schema?.strict !== true) return null;
  const [first] = strictSchemaProblems(format.json_schema.schema);
  return first ? `Invalid schema for response_format '${format.json_schema.name ?? ""}': ${first}` : null;
}

function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

/** OpenAI's 400 for a request that breaks its spec, worded as OpenAI words it, about the first problem. */
function invalidRequestBody(violations: Violation[], body: unknown) {
  const [first] = violations;
  if (!first) throw new Error("fake LLM: no violation to report");
  const param = formatPath(first.at).replace(/^\./, "") || null;
  const value = valueAt(body, first.at);
  const limit = first.params.limit;
  const kind = typeof value === "number" && Number.isInteger(value) ? "integer" : "decimal";
  let message = `Invalid '${param}': ${first.message}.`;
  let code: string | null = "invalid_value";
  switch (first.keyword) {
    case "required":
      [message, code] = [`Missing required parameter: '${param}'.`, "missing_required_parameter"];
      break;
    case "type":
      [message, code] = [
        `Invalid type for '${param}': expected ${expectedType(first.params.type)}, but got ${jsonType(value)} instead.`,
        "invalid_type",
      ];
      break;
    case "enum":
    case "const":
      message = `Invalid value: ${JSON.stringify(value)}. Supported values are: ${first.message.replace(/^must be (one of )?/, "")}.`;
      break;
    case "maximum":
    case "exclusiveMaximum":
      [message, code] = [
        `Invalid '${param}': ${kind} above maximum value. Expected a value <= ${limit}, but got ${value} instead.`,
        `${kind}_above_max_value`,
      ];
      break;
    case "minimum":
    case "exclusiveMinimum":
      [message, code] = [
        `Invalid '${param}': ${kind} below minimum value. Expected a value >= ${limit}, but got ${value} instead.`,
        `${kind}_below_min_value`,
      ];
      break;
    case "minItems":
      [message, code] =
        Array.isArray(value) && value.length === 0
          ? [
              `Invalid '${param}': empty array. Expected an array with minimum length ${limit}, but got an empty array instead.`,
              "empty_array",
            ]
          : [
              `Invalid '${param}': array too short. Expected an array with minimum length ${limit}, but got an array with length ${Array.isArray(value) ? value.length : 0} instead.`,
              "array_below_min_length",
            ];
      break;
    case "maxItems":
      [message, code] = [
        `Invalid '${param}': array too long. Expected an array with maximum length ${limit}, but got an array with length ${Array.isArray(value) ? value.length : 0} instead.`,
        "array_above_max_length",
      ];
      break;
    case "maxLength":
      [message, code] = [
        `Invalid '${param}': string too long. Expected a string with maximum length ${limit}, but got a string with length ${typeof value === "string" ? value.length : 0} instead.`,
        "string_above_max_length",
      ];
      break;
    case "operation":
      [message, code] = [`Invalid URL: ${first.operation} ${first.message}.`, null];
      break;
    default:
      break;
  }
  return { error: { message, type: "invalid_request_error", param, code } };
}

/** A body as JSON when it is JSON, for checking requests the fake does not serve. */
function parseLoosely(raw: string): unknown {
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function valueAt(body: unknown, at: (string | number)[]): unknown {
  let node = body;
  for (const key of at)
    node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

function expectedType(types: unknown): string {
  const names: Record<string, string> = {
    number: "a decimal",
    integer: "an integer",
    string: "a string",
    boolean: "a boolean",
    object: "an object",
    array: "an array",
    null: "null",
  };
  const list = Array.isArray(types) ? types : String(types).split(",");
  return list.map((t) => names[String(t)] ?? String(t)).join(" or ");
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a decimal";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function bearerOf(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
  return match ? match[1]!.trim() : null;
}

/** Resolves after `ms`, or false at once if the client goes away first. */
function waitUnlessGone(ms: number, gone: AbortSignal): Promise<boolean> {
  if (gone.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      gone.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    gone.addEventListener("abort", onAbort, { once: true });
  });
}

/** Per-request bookkeeping: the in-flight count drops exactly once, when answered or abandoned. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  started: number;
  gone: AbortSignal;
  settle(): void;
}

// ---------------------------------------------------------------------------------------------------
// The server.

class FakeLlmServer {
  readonly log: FakeLlmLogEntry[] = [];
  readonly violations: FakeLlmViolation[] = [];
  private faults: FakeLlmFaults;
  /** How many requests each `decline` entry with `times` has declined so far. */
  private readonly declinedSoFar = new Map<object, number>();
  private latencyMs: number;
  private readonly seed: number;
  private seq = 0;
  private active = 0;
  /** The rate limit's current window and the requests it has taken. */
  private window = { start: 0, used: 0 };
  private readonly cache = new PromptCache();
  private readonly sockets = new Set<Socket>();
  readonly http = createServer((req, res) => void this.handle(req, res));

  constructor(private readonly opts: FakeLlmOptions) {
    this.faults = opts.faults ?? {};
    this.latencyMs = opts.latencyMs ?? 0;
    this.seed = opts.seed ?? 1;
    this.http.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  setFaults(f: FakeLlmFaults): void {
    this.faults = { ...f };
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  inFlight(): number {
    return this.active;
  }

  /** Destroys every socket, hanging requests included, so closing never waits on a client. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.http.closeAllConnections();
    });
  }

  private begin(req: IncomingMessage, res: ServerResponse): Exchange {
    this.active++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.active--;
    };
    const controller = new AbortController();
    // `close` before the response finished means the client hung up (timeout, abort, server shutdown).
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
      settle();
    });
    return { req, res, started: Date.now(), gone: controller.signal, settle };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ex = this.begin(req, res);
    try {
      await this.route(ex);
    } catch (error) {
      ex.settle();
      if (res.headersSent) return;
      sendJson(res, 500, errorBody(`fake server bug: ${String(error)}`, "server_error"));
    }
  }

  private async route(ex: Exchange): Promise<void> {
    const path = (ex.req.url ?? "").split("?")[0];
    const body = await readBody(ex.req);
    if (ex.req.method === "GET" && path === "/v1/models") return this.models(ex);
    if (ex.req.method === "POST" && path === "/v1/chat/completions") return this.chat(ex, body);
    // Recorded all the same: a client calling what OpenAI does not have is a finding, not just a 404.
    this.specViolations(ex, parseLoosely(body));
    this.reply(ex, 404, errorBody(`Unknown request URL: ${ex.req.method} ${path}`, "invalid_request_error"));
  }

  private reply(ex: Exchange, status: number, body: unknown, headers?: Record<string, string>): void {
    ex.settle();
    sendJson(ex.res, status, body, headers);
  }

  /** Null when authorised, else the 401 body to send. */
  private authProblem(req: IncomingMessage): unknown {
    const token = bearerOf(req);
    if (token === null) {
      return errorBody("You didn't provide an API key.", "invalid_request_error", "missing_api_key");
    }
    if (this.opts.apiKey !== undefined && token !== this.opts.apiKey) {
      return errorBody("Incorrect API key provided", "invalid_request_error", "invalid_api_key");
    }
    return null;
  }

  private async models(ex: Exchange): Promise<void> {
    const problem = this.authProblem(ex.req);
    if (problem) return this.reply(ex, 401, problem);
    const violations = this.specViolations(ex, undefined);
    if (violations.length > 0) return this.reply(ex, 400, invalidRequestBody(violations, undefined));
    if (!(await waitUnlessGone(this.latencyMs, ex.gone))) return;
    this.reply(ex, 200, {
      object: "list",
      data: [{ id: "fake-model", object: "model", created: 0, owned_by: "folio" }],
    });
  }

  private async chat(ex: Exchange, raw: string): Promise<void> {
    let body: ChatRequest;
    try {
      body = JSON.parse(raw) as ChatRequest;
    } catch {
      return this.reply(
        ex,
        400,
        errorBody("We could not parse the JSON body of your request.", "invalid_request_error"),
      );
    }
    const parsed = parseChat(typeof body === "object" && body !== null ? body : {});
    const seq = ++this.seq;
    const entry = this.newEntry(seq, parsed, ex.started);
    const problem = this.authProblem(ex.req);
    if (problem) {
      entry.outcome = "401";
      this.log.push(entry);
      this.finishEntry(entry, ex);
      return this.reply(ex, 401, problem);
    }
    const violations = this.specViolations(ex, body, seq);
    if (violations.length > 0) {
      // As OpenAI does: a request its API does not accept is refused before anything is generated.
      entry.outcome = "invalid_request";
      entry.violations = violations.map(describeViolation);
      this.log.push(entry);
      this.finishEntry(entry, ex);
      return this.reply(ex, 400, invalidRequestBody(violations, body));
    }
    const schemaProblem = this.opts.strictSchemas === false ? null : strictProblem(body);
    if (schemaProblem) {
      // As OpenAI does: a schema strict mode cannot compile is refused before anything is generated.
      entry.outcome = "invalid_schema";
      this.log.push(entry);
      this.finishEntry(entry, ex);
      return this.reply(ex, 400, {
        error: { ...errorBody(schemaProblem, "invalid_request_error").error, param: "response_format" },
      });
    }
    entry.cachedTokens = Math.min(entry.promptTokens, this.cache.lookupAndStore(parsed.model, parsed.prompt));
    entry.outcome = this.allowed() ? this.decide(seq, parsed) : "429";
    // Logged now so the log stays in request order; durationMs and completionTokens are filled in later.
    this.log.push(entry);
    if (entry.outcome === "hang") return this.appendLogFile(entry);
    const proceed = await waitUnlessGone(this.latencyMs, ex.gone);
    if (!proceed) return this.finishEntry(entry, ex);
    await this.answer(ex, entry, parsed, seq);
  }

  /** How the request breaks OpenAI's spec (none when it conforms), recorded for the tests to read. */
  private specViolations(ex: Exchange, body: unknown, seq?: number): Violation[] {
    const method = ex.req.method ?? "GET";
    const path = ex.req.url ?? "";
    const violations = requestViolations("openai", { method, path, body });
    if (violations.length > 0) {
      this.violations.push({ seq, method, path, problems: violations.map(describeViolation) });
    }
    return violations;
  }

  /** `at` is when the request arrived, so `at`…`at + durationMs` is the whole time it was in flight. */
  private newEntry(seq: number, p: Parsed, arrived: number): FakeLlmLogEntry {
    return {
      seq,
      at: arrived,
      model: p.model,
      kind: p.kind,
      schemaName: p.schemaName,
      firstLine: p.userText.split("\n", 1)[0] ?? "",
      outcome: "ok",
      promptTokens: Math.min(encode(p.prompt).length, this.opts.contextWindow ?? Number.POSITIVE_INFINITY),
      cachedTokens: 0,
      completionTokens: 0,
      durationMs: 0,
      prompt: p.prompt,
      maxTokens:
        (this.opts.reads === "max_tokens" ? undefined : p.body.max_completion_tokens) ??
        p.body.max_tokens ??
        null,
      params: Object.fromEntries(Object.entries(p.body).filter(([key]) => key !== "messages")),
    };
  }

  /** Faults in a fixed order, each drawn from this request's own fault stream. */
  private decide(seq: number, p: Parsed): FakeLlmOutcome {
    const f = this.faults;
    const rng = rngFor(this.seed, seq, 1);
    const hit = (rate: number | undefined) => rng() < (rate ?? 0);
    if (f.failWhenPromptIncludes?.some((s) => p.prompt.includes(s))) return "500";
    const declined = f.decline?.find(
      (d) => p.userText.includes(d.match) && (this.declinedSoFar.get(d) ?? 0) < (d.times ?? Infinity),
    );
    if (declined) {
      this.declinedSoFar.set(declined, (this.declinedSoFar.get(declined) ?? 0) + 1);
      return declined.kind;
    }
    if (hit(f.rate429)) return "429";
    if (hit(f.rate500)) return "500";
    if (hit(f.rateHang)) return "hang";
    if (p.kind === "structured" && hit(f.rateTruncatedJson)) return "truncated";
    if (p.kind === "prose" && hit(f.rateShortProse)) return "short";
    if (p.kind === "prose" && hit(f.rateRefusal)) return "refusal";
    return "ok";
  }

  private answer(ex: Exchange, entry: FakeLlmLogEntry, p: Parsed, seq: number): Promise<void> | undefined {
    if (entry.outcome === "429") {
      this.finishEntry(entry, ex);
      const body = errorBody("Rate limit reached", "requests", "rate_limit_exceeded");
      this.reply(ex, 429, body, this.retryHeaders());
    } else if (entry.outcome === "500") {
      this.finishEntry(entry, ex);
      this.reply(
        ex,
        500,
        errorBody("The server had an error while processing your request.", "server_error"),
      );
    } else if (entry.outcome === "refusal") {
      entry.completionTokens = encode(FAKE_REFUSAL).length;
      if (p.body.stream === true) return this.stream(ex, entry, p, seq, { refusal: FAKE_REFUSAL });
      this.finishEntry(entry, ex);
      this.reply(ex, 200, completionBody(seq, p.model, null, entry, { refusal: FAKE_REFUSAL }));
    } else {
      const whole = this.content(entry.outcome, p, seq);
      // A content filter stops the answer where it tripped: here, after its first sentence.
      const filtered = entry.outcome === "content_filter" ? (whole.match(/^[^.!?]*[.!?]/)?.[0] ?? "") : whole;
      const { content, cut } = this.capped(filtered, p.body);
      entry.completionTokens = encode(content).length;
      if (cut) entry.outcome = "length";
      const finish = cut ? "length" : entry.outcome === "content_filter" ? "content_filter" : "stop";
      if (p.body.stream === true) return this.stream(ex, entry, p, seq, { content, finish });
      this.finishEntry(entry, ex);
      this.reply(ex, 200, completionBody(seq, p.model, content, entry, { finish }), this.allowanceHeaders());
    }
    return undefined;
  }

  /**
   * The answer as server-sent events, the way OpenAI streams: a role chunk, content (or refusal)
   * chunks at the configured pace, a chunk with the finish reason, the usage chunk when the request
   * asked for it, then `[DONE]`. A stalled stream stops halfway and leaves the socket open.
   */
  private async stream(
    ex: Exchange,
    entry: FakeLlmLogEntry,
    p: Parsed,
    seq: number,
    end: { content?: string; refusal?: string; finish?: string },
  ): Promise<void> {
    const { res } = ex;
    const pace = this.opts.stream ?? {};
    const stall = rngFor(this.seed, seq, 5)() < (this.faults.rateStall ?? 0);
    if (res.destroyed) return this.finishEntry(entry, ex);
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-request-id": `req_fake_${Date.now().toString(36)}`,
      ...this.allowanceHeaders(),
    });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: unknown) => {
      const choices = usage ? [] : [{ index: 0, delta, finish_reason: finish, logprobs: null }];
      const body = {
        id: `chatcmpl-fake-${seq}`,
        object: "chat.completion.chunk",
        created: Math.floor(Date.now() / 1000),
        model: p.model,
        choices,
        ...(usage ? { usage } : {}),
      };
      res.write(`data: ${JSON.stringify(body)}\n\n`);
    };
    chunk({ role: "assistant", content: "" });
    const field = end.refusal !== undefined ? "refusal" : "content";
    const tokens = encode(end.refusal ?? end.content ?? "");
    const per = Math.max(1, pace.tokensPerChunk ?? 8);
    let sinceP = 0;
    for (let i = 0; i < tokens.length; i += per) {
      if (stall && i >= tokens.length / 2) {
        entry.outcome = "stall";
        return this.appendLogFile(entry);
      }
      chunk({ [field]: decode(tokens.slice(i, i + per)) });
      sinceP += per;
      let wait = pace.chunkDelayMs ?? 0;
      if (pace.pauseEveryTokens && sinceP >= pace.pauseEveryTokens) {
        sinceP = 0;
        wait += pace.pauseMs ?? 0;
      }
      if (wait > 0 && !(await waitUnlessGone(wait, ex.gone))) return this.finishEntry(entry, ex);
      if (res.destroyed) return this.finishEntry(entry, ex);
    }
    chunk({}, end.finish ?? "stop");
    const usage = completionBody(seq, p.model, null, entry).usage;
    if (p.body.stream_options?.include_usage) chunk({}, null, usage);
    this.finishEntry(entry, ex);
    ex.settle();
    res.end("data: [DONE]\n\n");
  }

  /** Takes one request from the allowance; false when the key has none left in this window. */
  private allowed(): boolean {
    const limit = this.opts.rateLimit;
    if (!limit) return true;
    const now = Date.now();
    if (now >= this.window.start + limit.windowMs) this.window = { start: now, used: 0 };
    if (this.window.used >= limit.requests) return false;
    this.window.used++;
    return true;
  }

  private allowanceHeaders(): Record<string, string> {
    const limit = this.opts.rateLimit;
    if (!limit) return {};
    const resetMs = Math.max(0, this.window.start + limit.windowMs - Date.now());
    return {
      "x-ratelimit-limit-requests": String(limit.requests),
      "x-ratelimit-remaining-requests": String(Math.max(0, limit.requests - this.window.used)),
      "x-ratelimit-reset-requests": `${resetMs}ms`,
    };
  }

  /** The answer as a model with an output cap writes it: cut at the cap, mid-word if need be. */
  private capped(text: string, body: ChatRequest): { content: string; cut: boolean } {
    const asked =
      this.opts.reads === "max_tokens" ? [body.max_tokens] : [body.max_completion_tokens, body.max_tokens];
    const limits = [this.opts.outputCap, ...asked].filter((n): n is number => typeof n === "number" && n > 0);
    if (limits.length === 0) return { content: text, cut: false };
    const tokens = encode(text);
    const limit = Math.min(...limits);
    if (tokens.length <= limit) return { content: text, cut: false };
    return { content: decode(tokens.slice(0, limit)), cut: true };
  }

  private retryHeaders(): Record<string, string> {
    if (this.opts.rateLimit) {
      const waitMs = Math.max(1, this.window.start + this.opts.rateLimit.windowMs - Date.now());
      return {
        ...this.allowanceHeaders(),
        "retry-after-ms": String(waitMs),
        "retry-after": String(Math.ceil(waitMs / 1000)),
      };
    }
    const seconds = this.faults.retryAfterSeconds;
    const headers: Record<string, string> = { "retry-after": String(seconds ?? 0) };
    if (seconds !== undefined) headers["retry-after-ms"] = String(Math.round(seconds * 1000));
    return headers;
  }

  /**
   * A scene digest's state changes: only what `faults.ledger` scripts for that scene (a character's
   * move, injury, a secret learned), so tests can follow one character through the book; one new open
   * thread per scene, none closed unless scripted.
   */
  private recordLedger(value: Record<string, unknown>, userText: string): void {
    const scene = Number(/^Summarise scene (\d+)/m.exec(userText)?.[1]);
    const scripted = (this.faults.ledger ?? []).filter((l) => l.scene === scene);
    value.characters = scripted
      .filter((l) => l.character)
      .map((l) => ({
        name: l.character,
        location: l.location ?? "",
        condition: l.condition ?? "",
        learned: l.learned ?? [],
        told: [],
        holds: [],
        relationships: [],
      }));
    value.threadsOpened = [
      ...((value.threadsOpened as string[] | undefined) ?? []).slice(0, 1),
      ...scripted.flatMap((l) => (l.threadOpened ? [l.threadOpened] : [])),
    ];
    value.threadsClosed = scripted.flatMap((l) => (l.threadClosed ? [l.threadClosed] : []));
  }

  /**
   * Surgical edits as a careful model makes them: the sentences the instructions quote, where the scene
   * has them once, else up to two sentences of the scene found once, each replaced by a new one. With
   * `faults.editMisses`, also one edit whose words are not in the scene and one whose words occur many
   * times, as a careless model's are.
   */
  private editsFor(userText: string, text: TextGen): { find: string; replace: string; reason: string }[] {
    const scene = /The scene:\n"""\n([\s\S]*?)\n"""/.exec(userText)?.[1] ?? "";
    const instructions = userText.slice(0, Math.max(0, userText.indexOf("The scene:\n")));
    const once = (find: string) =>
      scene.indexOf(find) >= 0 && scene.indexOf(find) === scene.lastIndexOf(find);
    const quoted = [...instructions.matchAll(/"([^"\n]{12,})"/g)].map((m) => m[1]!).filter(once);
    const sentences = (scene.match(/[^.!?\n]+[.!?]+/g) ?? [])
      .map((x) => x.trim())
      .filter((x) => x.split(" ").length >= 5);
    const edits = (quoted.length > 0 ? [...new Set(quoted)] : sentences.filter(once))
      .slice(0, 2)
      .map((find) => ({ find, replace: text.sentence(), reason: "tighter and more specific" }));
    if (this.faults.editMisses) {
      edits.push({ find: "words the scene never had", replace: "anything", reason: "a misremembered line" });
      edits.push({ find: " the ", replace: " a ", reason: "too common to place" });
    }
    return edits;
  }

  private content(outcome: FakeLlmOutcome, p: Parsed, seq: number): string {
    const rng = rngFor(this.seed, seq, 2);
    const text = new TextGen(rng);
    if (p.kind === "structured") {
      const schema = p.schema;
      const value = new SchemaFaker(schema, text, rng).value(schema);
      if (p.schemaName === "scene_digest") this.recordLedger(value as Record<string, unknown>, p.userText);
      if (p.schemaName === "scene_edits")
        (value as { edits: unknown }).edits = this.editsFor(p.userText, text);
      const critiqued = Number(/^Critique scene (\d+)/m.exec(p.userText)?.[1]);
      const scored = this.faults.rubric?.[critiqued];
      if (p.schemaName === "scene_critique" && scored !== undefined) {
        const scores = (value as { scores: Record<string, number> }).scores;
        for (const k of Object.keys(scores)) scores[k] = scored;
      }
      const repair = p.userText.includes("does not match the schema");
      const inPromptOnly = p.body.response_format?.type === "json_object";
      if (inPromptOnly && !repair && rngFor(this.seed, seq, 4)() < (this.faults.rateSchemaMismatch ?? 0)) {
        const [first] = Object.keys(value as object);
        if (first) delete (value as Record<string, unknown>)[first];
      }
      const json = JSON.stringify(value);
      return outcome === "truncated" ? json.slice(0, Math.floor(json.length / 2)) : json;
    }
    const words = targetWords(p.userText);
    const spoil = this.faults.spoilProse?.find((s) => p.userText.includes(s.match));
    if (spoil?.kind === "half") return text.prose(Math.max(1, Math.round(words / 2)));
    if (spoil?.kind === "cut")
      return text
        .prose(words)
        .replace(/[.!?]+\s*$/, "")
        .replace(/\s+\S+$/, " and then the");
    if (spoil?.kind === "meta") {
      const half = Math.max(1, Math.round(words / 2));
      return `${text.prose(half)}\n\nHere is the revised scene:\n\n${text.prose(words - half)}`;
    }
    const rewrite = /^Revise scene/m.test(p.userText);
    const [low, high] = (rewrite ? this.faults.rewriteUnderwrite : undefined) ??
      this.faults.underwrite ?? [1, 1];
    const share = low + (high - low) * rngFor(this.seed, seq, 6)();
    const runaway = rngFor(this.seed, seq, 7)() < (this.faults.rateRunaway ?? 0);
    const written = Math.max(1, Math.round(words * (runaway ? 3 : share)));
    const whole = text.prose(outcome === "short" ? Math.max(1, Math.round(words * 0.3)) : written);
    const prose = this.faults.sceneEnding ? `${whole} ${this.faults.sceneEnding}` : whole;
    if (rngFor(this.seed, seq, 3)() >= (this.faults.rateChatter ?? 0)) return prose;
    const pick = <T>(items: readonly T[]) => items[Math.floor(rng() * items.length)]!;
    return `${pick(CHATTER_OPENINGS)}\n\n${prose}\n\n${pick(CHATTER_CLOSINGS)}`;
  }

  /** Stamps the duration and writes the file line before the client can see the answer. */
  private finishEntry(entry: FakeLlmLogEntry, ex: Exchange): void {
    entry.durationMs = Date.now() - ex.started;
    this.appendLogFile(entry);
  }

  private appendLogFile(entry: FakeLlmLogEntry): void {
    if (!this.opts.logFile) return;
    const { prompt: _omitted, ...small } = entry;
    appendFileSync(this.opts.logFile, `${JSON.stringify(small)}\n`);
  }
}

function completionBody(
  seq: number,
  model: string,
  content: string | null,
  entry: FakeLlmLogEntry,
  end: { finish?: string; refusal?: string } = {},
) {
  return {
    id: `chatcmpl-fake-${seq}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: end.refusal ?? null },
        finish_reason: end.finish ?? "stop",
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: entry.promptTokens,
      completion_tokens: entry.completionTokens,
      total_tokens: entry.promptTokens + entry.completionTokens,
      prompt_tokens_details: { cached_tokens: entry.cachedTokens },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  };
}

export async function startFakeLlm(opts: FakeLlmOptions = {}): Promise<FakeLlm> {
  // Once per process, before the first request's clocks start: OpenAI's spec is large.
  warmUp("openai", [
    ["POST", "/v1/chat/completions"],
    ["GET", "/v1/models"],
  ]);
  const server = new FakeLlmServer(opts);
  await new Promise<void>((resolve, reject) => {
    server.http.once("error", reject);
    server.http.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.http.address();
  if (address === null || typeof address === "string") throw new Error("fake LLM did not bind a TCP port");
  return {
    url: `http://127.0.0.1:${address.port}/v1`,
    port: address.port,
    log: server.log,
    violations: server.violations,
    setFaults: (f) => server.setFaults(f),
    setLatency: (ms) => server.setLatency(ms),
    inFlight: () => server.inFlight(),
    close: () => server.close(),
  };
}

// ---------------------------------------------------------------------------------------------------
// Standalone mode, for the benchmark and crash tests that run the app in another process.

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      latency: { type: "string", default: "0" },
      seed: { type: "string", default: "1" },
      "api-key": { type: "string" },
      log: { type: "string" },
      faults: { type: "string" },
      realistic: { type: "boolean", default: false },
    },
  });
  const realistic = values.realistic ? REALISTIC : { faults: {} };
  const fake = await startFakeLlm({
    ...realistic,
    port: Number(values.port),
    latencyMs: Number(values.latency),
    seed: Number(values.seed),
    apiKey: values["api-key"],
    logFile: values.log,
    faults: { ...realistic.faults, ...(values.faults ? (JSON.parse(values.faults) as FakeLlmFaults) : {}) },
  });
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
