// Over 300 lines: one client class, because each call's requests, their recording (retries included)
// and the checks of its kind of answer — JSON with budgets and repair, prose with continuations —
// share that call's state; streaming, retries, limits, errors, budgets and JSON mode have their own
// modules.

import { setTimeout as sleep } from "node:timers/promises";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import type { CompletionUsage } from "openai/resources/completions";
import type { Logger } from "pino";
import type { z } from "zod";
import type { Db } from "../../db/client";
import { llmCalls } from "../../db/schema";
import { type Config, modelFor } from "../config";
import type { CallFigures } from "../ops/metrics";
import { stripChatter } from "../text/chatter";
import { endsWithTerminalPunctuation } from "../text/meta";
import { countWords } from "../text/words";
import { BusyClock } from "./calls";
import {
  promptTokens,
  promptTokensAtMost,
  silentlyTruncated,
  tokensOfText,
  truncationAdvice,
} from "./context";
import { costOf, type Prices, pricesFrom } from "./cost";
import { declineOf, explain, LlmError } from "./errors";
import { repairMessages, withSchemaInPrompt } from "./json-mode";
import {
  continuationMessages,
  joinParts,
  keepWholeSentences,
  largerBudget,
  MAX_CONTINUATIONS,
  opensParagraph,
  outputBudget,
  tokensForWords,
  wordsStillWanted,
} from "./length";
import { AdaptiveLimit, allowanceOf } from "./limit";
import { failureOf } from "./retry";
import { type StreamedAnswer, streamWithClocks } from "./stream";
import type { CallOptions, CallTag, Messages, Model, ModelRole, ProseOptions } from "./types";
import { contextTokens, windowAdvice, windowMargin } from "./window";

export type { CallOptions, CallTag, Messages, ModelRole, ProseOptions };

export interface Usage {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** Malformed JSON, a schema mismatch, empty or truncated prose: worth asking again a few times. */
class UnusableAnswer extends Error {
  constructor(
    readonly outcome: string,
    message: string,
    /** What the model answered, for a repair round. */
    readonly answer?: string,
  ) {
    super(message);
  }
}

const UNUSABLE_ANSWER_ATTEMPTS = 3;

export class LlmClient implements Model {
  private readonly openai: OpenAI;
  /** Requests in flight at once, process-wide: `FOLIO_LLM_CONCURRENCY` at most, fewer after 429s. */
  readonly limit: AdaptiveLimit;
  private readonly prices: Prices;
  /**
   * Time with at least one call outstanding — from the moment the pipeline asks until it holds the
   * answer: how well the scheduler keeps the endpoint busy.
   */
  readonly busy = new BusyClock();

  constructor(
    private readonly config: Config,
    private readonly db: Db,
    private readonly log: Logger,
    /** Told of every attempt recorded in `llm_calls` (the process's metrics). */
    private readonly observe: (call: CallFigures) => void = () => {},
  ) {
    this.prices = pricesFrom(config);
    this.limit = new AdaptiveLimit(config.FOLIO_LLM_CONCURRENCY);
    // Retries are Folio's own (see retry.ts): the SDK would hold the concurrency slot while it waits.
    this.openai = new OpenAI({
      apiKey: config.OPENAI_API_KEY ?? "not-needed-for-local-endpoints",
      baseURL: config.OPENAI_BASE_URL,
      timeout: config.FOLIO_LLM_TIMEOUT_MS,
      maxRetries: 0,
    });
  }

  get endpoint(): string {
    return this.openai.baseURL;
  }

  /**
   * A JSON answer validated by `schema` (structured outputs, `json_schema`, strict). An answer cut off
   * at its token budget is asked again with twice the room, up to `FOLIO_MAX_OUTPUT_TOKENS`.
   */
  async structured<S extends z.ZodType>(schema: S, name: string, messages: Messages, opts: CallOptions) {
    const format = responseFormatOf(schema, name);
    const inPrompt = this.config.FOLIO_STRUCTURED === "json_object";
    // Without schema support the schema goes in the prompt, and a wrong answer gets one repair round.
    const asked = inPrompt ? withSchemaInPrompt(messages, format.json_schema.schema) : messages;
    const responseFormat = inPrompt ? { type: "json_object" as const } : format;
    const ceiling = this.config.FOLIO_MAX_OUTPUT_TOKENS;
    let budget = outputBudget(opts.outputTokens, ceiling);
    return this.withRetries(opts, async (model) => {
      let request = asked;
      for (let repaired = !inPrompt; ; ) {
        const body = {
          model,
          messages: request,
          response_format: responseFormat,
          max_completion_tokens: budget,
        };
        const answer = await this.complete(body, opts, (content, finish) => {
          if (finish === "length") return { value: undefined, outcome: "length" };
          const checked = schema.safeParse(parseJson(content));
          if (!checked.success) {
            const problem = `answer does not match ${name}: ${checked.error.message}`;
            throw new UnusableAnswer("schema_mismatch", problem, content);
          }
          return { value: checked.data as z.output<S> };
        }).catch((error: unknown) => {
          if (repaired || !(error instanceof UnusableAnswer) || error.answer === undefined) throw error;
          repaired = true;
          request = repairMessages(asked, error.answer, error.message, format.json_schema.schema);
          return undefined;
        });
        if (answer === undefined) continue;
        if (answer.value !== undefined) return answer as { value: z.output<S>; usage: Usage };
        const larger = largerBudget(budget, ceiling);
        if (larger === undefined) {
          throw new LlmError(
            `The answer for ${name} needs more than ${ceiling} output tokens: raise FOLIO_MAX_OUTPUT_TOKENS if the model can write more, or use a model that can.`,
            true,
          );
        }
        budget = larger;
      }
    });
  }

  /**
   * Free text, without the line of chatter a model may wrap it in (cut here, so the guards judge the
   * prose itself, and recorded). An answer that stops at its token budget is continued from its last
   * whole sentence. Empty, unfinished or too-short answers are asked again.
   */
  async prose(messages: Messages, opts: ProseOptions) {
    return this.withRetries(opts, async (model) => {
      const parts: { text: string; newParagraph: boolean }[] = [];
      const usage: Usage = { promptTokens: 0, cachedTokens: 0, completionTokens: 0, costUsd: 0 };
      let asked = messages;
      let words = opts.expectedWords;
      for (let round = 0; ; round++) {
        const budget = this.answerBudget({ ...opts, expectedWords: words });
        const before = joinParts(parts);
        const part = await this.complete(
          { model, messages: asked, max_completion_tokens: budget },
          opts,
          (content, finish) => {
            const { text, removed } = stripChatter(content);
            parts.push({ text, newParagraph: round > 0 && opensParagraph(content) });
            if (finish === "length" && round < MAX_CONTINUATIONS)
              return { value: undefined, outcome: "length", cleaned: removed };
            const whole = finish === "length" ? keepWholeSentences(joinParts(parts)) : joinParts(parts);
            return { value: this.usableProse(whole, opts), cleaned: removed };
          },
          opts.onWords && liveWords(countWords(before), opts.onWords),
        );
        addUsage(usage, part.usage);
        if (part.value !== undefined) return { value: part.value, usage };
        // Cut off: the whole sentences so far stay, the rest is written from there.
        const last = parts.at(-1)!;
        last.text = keepWholeSentences(last.text);
        const soFar = joinParts(parts);
        words = wordsStillWanted(soFar, opts.expectedWords);
        asked = continuationMessages(messages, soFar, words);
      }
    });
  }

  firstThatFits(prompts: Iterable<Messages>, opts: ProseOptions): Messages {
    const window = contextTokens(this.config, opts.role);
    const answer = this.answerBudget(opts);
    let smallest = Number.POSITIVE_INFINITY;
    let measured = 0;
    for (const messages of prompts) {
      if (promptTokensAtMost(messages) + answer + windowMargin(window) <= window) return messages;
      const tokens = promptTokens(messages);
      if (tokens + answer + windowMargin(window) <= window) return messages;
      smallest = Math.min(smallest, tokens);
      measured += 1;
    }
    throw new LlmError(windowAdvice(this.config, opts.role, smallest, answer, measured > 1), true);
  }

  /** `max_completion_tokens` for an answer of about `expectedWords` (prose) or `outputTokens`. */
  private answerBudget(opts: ProseOptions): number {
    const words = opts.expectedWords;
    return outputBudget(
      words === undefined ? opts.outputTokens : tokensForWords(words),
      this.config.FOLIO_MAX_OUTPUT_TOKENS,
    );
  }

  /**
   * The request as this endpoint wants it: `FOLIO_EXTRA_BODY` merged in (provider options), and
   * `reasoning_effort` only when configured, since models without reasoning refuse it.
   */
  private withSettings(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
  ): OpenAI.ChatCompletionCreateParamsNonStreaming {
    const effort = this.config.FOLIO_REASONING_EFFORT;
    // Servers that read only the older field (Ollama's and LM Studio's /v1) get the limit under its name.
    const { max_completion_tokens: limit, ...rest } = body;
    const field = this.config.FOLIO_OUTPUT_LIMIT_FIELD;
    return {
      ...this.config.FOLIO_EXTRA_BODY,
      ...rest,
      ...(limit === undefined || limit === null ? {} : { [field]: limit }),
      ...(effort ? { reasoning_effort: effort } : {}),
    } as OpenAI.ChatCompletionCreateParamsNonStreaming;
  }

  private usableProse(text: string, opts: ProseOptions): string {
    if (text === "") throw new UnusableAnswer("empty", "the model returned no text");
    if (!opts.acceptIncomplete && !endsWithTerminalPunctuation(text)) {
      throw new UnusableAnswer("truncated", "the model's text stops mid-sentence");
    }
    const words = countWords(text);
    if (opts.minWords !== undefined && words < opts.minWords) {
      throw new UnusableAnswer("short", `the model wrote ${words} words, fewer than ${opts.minWords}`);
    }
    return text;
  }

  /**
   * One request, streamed, its answer checked by `accept`; each attempt is recorded once with its usage
   * and verdict. A request refused for a passing reason is sent again after a back-off, without holding
   * a concurrency slot meanwhile (the retry policy is in retry.ts).
   */
  private async complete<T>(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    opts: CallOptions,
    accept: (content: string, finish: string) => { value: T; cleaned?: string[]; outcome?: string },
    onText?: (soFar: string) => void,
  ): Promise<{ value: T; usage: Usage }> {
    // Prompts shaped to fit (drafting, rewrites) leave room for their answer too; none is sent that
    // the window cannot hold, since a server would cut its beginning or refuse it. One that plainly
    // fits goes out at once and is counted when its answer is in.
    const window = contextTokens(this.config, opts.role);
    let counted: number | undefined;
    const sentTokens = () => (counted ??= promptTokens(body.messages));
    if (promptTokensAtMost(body.messages) + windowMargin(window) > window) {
      if (sentTokens() + windowMargin(window) > window) {
        throw new LlmError(windowAdvice(this.config, opts.role, sentTokens(), 0, false), true);
      }
    }
    const sent = this.withSettings(body);
    for (let retry = 0; ; retry++) {
      const release = await this.limit.acquire(opts.signal, {
        owner: opts.owner,
        project: opts.projectId,
        ...(opts.unit === undefined ? {} : { unit: `${opts.projectId}:${opts.unit}` }),
      });
      const started = performance.now();
      let answer: StreamedAnswer;
      try {
        answer = await streamWithClocks(
          this.openai,
          sent,
          {
            idleMs: this.config.FOLIO_LLM_IDLE_TIMEOUT_MS,
            totalMs: this.config.FOLIO_LLM_TIMEOUT_MS,
            signal: opts.signal,
          },
          (headers) => release.answered(allowanceOf(headers)),
          onText,
        );
      } catch (error) {
        release();
        const failure = failureOf(error, retry, {
          maxRetries: this.config.FOLIO_LLM_MAX_RETRIES,
          baseMs: this.config.FOLIO_RETRY_BASE_MS,
          cancelled: !!opts.signal?.aborted,
        });
        await this.insertCall(opts, body.model, started, failure.outcome, { error: failure.detail });
        if (failure.rateLimited) this.limit.rateLimited(failure.retryInMs ?? 0);
        if (failure.retryInMs === undefined) throw explain(error, this.openai.baseURL);
        this.log.warn(
          { stage: opts.stage, scene: opts.sceneNumber, retry: retry + 1, waitMs: failure.retryInMs },
          `model request failed (${failure.outcome}), sending it again`,
        );
        await sleep(failure.retryInMs, undefined, { signal: opts.signal }).catch(() => {
          throw explain(error, this.openai.baseURL);
        });
        continue;
      } finally {
        release();
      }
      return this.judge(answer, body.model, sentTokens, opts, started, accept);
    }
  }

  /** The checks every answer goes through: a cut prompt, a refusal, then the caller's own. */
  private async judge<T>(
    answer: StreamedAnswer,
    model: string,
    sentTokens: () => number,
    opts: CallOptions,
    started: number,
    accept: (content: string, finish: string) => { value: T; cleaned?: string[]; outcome?: string },
  ): Promise<{ value: T; usage: Usage }> {
    const usage = usageOf(answer.usage, sentTokens, answer.content, this.prices);
    if (silentlyTruncated(sentTokens(), usage.promptTokens)) {
      const advice = truncationAdvice(sentTokens(), usage.promptTokens);
      await this.insertCall(opts, model, started, "context_truncated", { usage, error: advice });
      throw new LlmError(advice, true);
    }
    const declined = declineOf({
      index: 0,
      logprobs: null,
      finish_reason: answer.finish as "stop",
      message: { role: "assistant", content: answer.content, refusal: answer.refusal },
    });
    if (declined) {
      await this.insertCall(opts, model, started, declined.outcome, { usage, error: declined.text });
      throw declined.error;
    }
    try {
      const { value, cleaned, outcome } = accept(answer.content, answer.finish);
      await this.insertCall(opts, model, started, outcome ?? "ok", { usage, cleaned });
      return { value, usage };
    } catch (error) {
      if (error instanceof UnusableAnswer) {
        await this.insertCall(opts, model, started, error.outcome, { usage, error: error.message });
      }
      throw error;
    }
  }

  private async withRetries<T>(
    opts: CallOptions,
    attempt: (model: string) => Promise<{ value: T; usage: Usage }>,
  ): Promise<{ value: T; usage: Usage }> {
    this.busy.begin();
    try {
      return await this.askUntilUsable(opts, attempt);
    } finally {
      this.busy.end();
    }
  }

  private async askUntilUsable<T>(
    opts: CallOptions,
    attempt: (model: string) => Promise<{ value: T; usage: Usage }>,
  ): Promise<{ value: T; usage: Usage }> {
    const model = modelFor(this.config, opts.role);
    let lastProblem: UnusableAnswer | undefined;
    for (let i = 1; i <= UNUSABLE_ANSWER_ATTEMPTS; i++) {
      try {
        return await attempt(model);
      } catch (error) {
        if (!(error instanceof UnusableAnswer)) throw explain(error, this.openai.baseURL);
        lastProblem = error;
        this.log.warn({ stage: opts.stage, scene: opts.sceneNumber, attempt: i }, error.message);
      }
    }
    throw new LlmError(
      `${lastProblem?.message ?? "unusable answer"} (after ${UNUSABLE_ANSWER_ATTEMPTS} tries)`,
      false,
    );
  }

  /**
   * Records one attempt. A row that cannot be written (a full disk, a locked file) is logged, never
   * thrown: the answer it describes is paid for and kept, and an error about the database must not
   * pass for the endpoint's (and be asked again, and paid again).
   */
  private async insertCall(
    tag: CallTag,
    model: string,
    started: number,
    outcome: string,
    extra: { usage?: Usage; error?: string; cleaned?: string[] },
  ): Promise<void> {
    const row = {
      projectId: tag.projectId,
      stage: tag.stage,
      sceneNumber: tag.sceneNumber ?? null,
      purpose: tag.purpose,
      model,
      promptTokens: extra.usage?.promptTokens ?? 0,
      cachedTokens: extra.usage?.cachedTokens ?? 0,
      completionTokens: extra.usage?.completionTokens ?? 0,
      costUsd: extra.usage?.costUsd ?? 0,
      latencyMs: Math.round(performance.now() - started),
      outcome,
      error: extra.error ?? null,
      cleaned: extra.cleaned?.length ? extra.cleaned.join("\n") : null,
    };
    try {
      this.observe(row);
    } catch (error) {
      this.log.warn({ err: error }, "could not count a model call in the metrics");
    }
    try {
      await this.db.insert(llmCalls).values(row);
    } catch (error) {
      this.log.error({ err: error, call: row }, "could not record a model call; its answer is kept");
    }
  }
}

function parseJson(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    throw new UnusableAnswer("invalid_json", "the answer is not valid JSON", content);
  }
}

function addUsage(total: Usage, more: Usage): void {
  total.promptTokens += more.promptTokens;
  total.cachedTokens += more.cachedTokens;
  total.completionTokens += more.completionTokens;
  total.costUsd += more.costUsd;
}

/** The usage the server reported; a server that reports none on streams is counted here instead. */
function usageOf(
  reported: CompletionUsage | undefined,
  sentTokens: () => number,
  content: string,
  prices: Prices,
): Usage {
  const promptTokens = reported?.prompt_tokens ?? sentTokens();
  const cachedTokens = reported?.prompt_tokens_details?.cached_tokens ?? 0;
  const completionTokens = reported?.completion_tokens ?? tokensOfText(content);
  return {
    promptTokens,
    cachedTokens,
    completionTokens,
    costUsd: costOf(prices, promptTokens, cachedTokens, completionTokens),
  };
}

/** Reports the words of a prose answer while it streams in, at most twice a second. */
/** Wire formats by schema and name: turning a zod schema into JSON Schema is not free, and most recur. */
const formats = new WeakMap<z.ZodType, Map<string, ReturnType<typeof zodResponseFormat>>>();

function responseFormatOf<S extends z.ZodType>(schema: S, name: string) {
  let byName = formats.get(schema);
  if (!byName) {
    byName = new Map();
    formats.set(schema, byName);
  }
  let format = byName.get(name);
  if (!format) {
    format = zodResponseFormat(schema, name);
    byName.set(name, format);
  }
  return format as ReturnType<typeof zodResponseFormat<S>>;
}

function liveWords(wordsBefore: number, report: (words: number) => void): (soFar: string) => void {
  let last = 0;
  return (soFar) => {
    const now = performance.now();
    if (now - last < 500) return;
    last = now;
    report(wordsBefore + countWords(soFar));
  };
}
