// Over 300 lines: one client class, because retries, the recording fetch, answer validation and the
// busy clock share the state of each call; split, each part would need the others' internals.
import { AsyncLocalStorage } from "node:async_hooks";
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import type { ChatCompletion } from "openai/resources/chat/completions";
import pLimit, { type LimitFunction } from "p-limit";
import type { Logger } from "pino";
import type { z } from "zod";
import type { Db } from "../../db/client";
import { llmCalls } from "../../db/schema";
import { type Config, modelFor } from "../config";
import { stripChatter } from "../text/chatter";
import { endsWithTerminalPunctuation } from "../text/meta";
import { countWords } from "../text/words";
import { costOf, type Prices, pricesFrom } from "./cost";
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
import type { CallOptions, CallTag, Messages, Model, ModelRole, ProseOptions } from "./types";

export type { CallOptions, CallTag, Messages, ModelRole, ProseOptions };

export interface Usage {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  costUsd: number;
}

/**
 * Why a call finally failed. `fatal` errors (bad key, unreachable endpoint, unknown model) will not
 * get better by trying again, so the scheduler stops at once instead of spending its attempts.
 */
export class LlmError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LlmError";
  }
}

/**
 * A refusal (`message.refusal`) or a content filter's stop. Asking the same thing again rarely changes
 * the answer and costs each time, so it stops the unit at once and the author decides what to change.
 */
function declineOf(
  choice: ChatCompletion["choices"][number] | undefined,
): { outcome: string; text: string; error: LlmError } | undefined {
  if (!choice) return undefined;
  const advice = "Change what the card or the premise asks for, or choose another model, then retry.";
  if (choice.message.refusal) {
    const text = choice.message.refusal.trim();
    return { outcome: "refusal", text, error: new LlmError(`The model refused: "${text}" ${advice}`, true) };
  }
  if (choice.finish_reason !== "content_filter") return undefined;
  const partial = (choice.message.content ?? "").trim();
  return {
    outcome: "content_filter",
    text: `stopped by the content filter${partial ? ` after: ${partial.slice(0, 300)}` : ""}`,
    error: new LlmError(`The provider's content filter stopped the answer. ${advice}`, true),
  };
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
  private readonly limit: LimitFunction;
  private readonly prices: Prices;
  /**
   * Time with at least one call outstanding — from the moment the pipeline asks until it holds the
   * answer: how well the scheduler keeps the endpoint busy.
   */
  readonly busy = new BusyClock();
  private readonly tags = new AsyncLocalStorage<CallTag & { model: string; signal?: AbortSignal }>();

  constructor(
    private readonly config: Config,
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    this.prices = pricesFrom(config);
    this.limit = pLimit(config.FOLIO_LLM_CONCURRENCY);
    this.openai = new OpenAI({
      apiKey: config.OPENAI_API_KEY ?? "not-needed-for-local-endpoints",
      baseURL: config.OPENAI_BASE_URL,
      timeout: config.FOLIO_LLM_TIMEOUT_MS,
      maxRetries: config.FOLIO_LLM_MAX_RETRIES,
      fetch: this.recordingFetch,
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
    const format = zodResponseFormat(schema, name);
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
    const ceiling = this.config.FOLIO_MAX_OUTPUT_TOKENS;
    return this.withRetries(opts, async (model) => {
      const parts: { text: string; newParagraph: boolean }[] = [];
      const usage: Usage = { promptTokens: 0, cachedTokens: 0, completionTokens: 0, costUsd: 0 };
      let asked = messages;
      let words = opts.expectedWords;
      for (let round = 0; ; round++) {
        const budget = outputBudget(words === undefined ? opts.outputTokens : tokensForWords(words), ceiling);
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

  /**
   * The request as this endpoint wants it: `FOLIO_EXTRA_BODY` merged in (provider options), and
   * `reasoning_effort` only when configured, since models without reasoning refuse it.
   */
  private withSettings(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
  ): OpenAI.ChatCompletionCreateParamsNonStreaming {
    const effort = this.config.FOLIO_REASONING_EFFORT;
    return {
      ...this.config.FOLIO_EXTRA_BODY,
      ...body,
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

  /** One request, its answer checked by `accept`; the attempt is recorded once with its usage and verdict. */
  private async complete<T>(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    opts: CallOptions,
    accept: (content: string, finish: string) => { value: T; cleaned?: string[]; outcome?: string },
  ): Promise<{ value: T; usage: Usage }> {
    const started = performance.now();
    const sent = this.withSettings(body);
    const completion = await withLinkedSignal(opts.signal, (signal) =>
      this.openai.chat.completions.create(sent, { signal }),
    );
    const usage = usageOf(completion, this.prices);
    const choice = completion.choices[0];
    const declined = declineOf(choice);
    if (declined) {
      this.insertCall(opts, body.model, started, declined.outcome, { usage, error: declined.text });
      throw declined.error;
    }
    try {
      const { value, cleaned, outcome } = accept(
        choice?.message.content ?? "",
        choice?.finish_reason ?? "stop",
      );
      this.insertCall(opts, body.model, started, outcome ?? "ok", { usage, cleaned });
      return { value, usage };
    } catch (error) {
      if (error instanceof UnusableAnswer) {
        this.insertCall(opts, body.model, started, error.outcome, { usage, error: error.message });
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
        return await this.limit(() => this.tags.run({ ...opts, model }, () => attempt(model)));
      } catch (error) {
        if (!(error instanceof UnusableAnswer)) throw this.explain(error);
        lastProblem = error;
        this.log.warn({ stage: opts.stage, scene: opts.sceneNumber, attempt: i }, error.message);
      }
    }
    throw new LlmError(
      `${lastProblem?.message ?? "unusable answer"} (after ${UNUSABLE_ANSWER_ATTEMPTS} tries)`,
      false,
    );
  }

  /** Logs each HTTP attempt that did not succeed; the SDK retries these, so they are otherwise invisible. */
  private readonly recordingFetch = async (
    url: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> => {
    const tag = this.tags.getStore();
    const started = performance.now();
    try {
      const response = await fetch(url, init);
      if (!response.ok && tag) {
        const body = await response.clone().text();
        this.insertCall(tag, tag.model, started, `http_${response.status}`, { error: body.slice(0, 500) });
      }
      return response;
    } catch (error) {
      if (tag) {
        const outcome = tag.signal?.aborted ? "aborted" : isAbort(error) ? "timeout" : "network";
        this.insertCall(tag, tag.model, started, outcome, { error: String(error).slice(0, 500) });
      }
      throw error;
    }
  };

  private insertCall(
    tag: CallTag,
    model: string,
    started: number,
    outcome: string,
    extra: { usage?: Usage; error?: string; cleaned?: string[] },
  ): void {
    this.db
      .insert(llmCalls)
      .values({
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
      })
      .run();
  }

  /** Turns SDK errors into one plain sentence an author or operator can act on. */
  private explain(error: unknown): Error {
    if (error instanceof LlmError) return error;
    const where = this.openai.baseURL;
    if (error instanceof APIUserAbortError)
      return new LlmError("The call was cancelled.", true, { cause: error });
    if (error instanceof APIConnectionTimeoutError) {
      return new LlmError(`The model endpoint ${where} did not answer in time.`, false, { cause: error });
    }
    if (error instanceof APIConnectionError) {
      // Not fatal: a local server loading a model or restarting comes back; the unit's attempts wait for it.
      return new LlmError(`Cannot reach the model endpoint ${where}: check OPENAI_BASE_URL.`, false, {
        cause: error,
      });
    }
    if (error instanceof APIError) {
      const detail = error.message.replace(/\s+/g, " ").slice(0, 200);
      if (error.status === 401 || error.status === 403) {
        return new LlmError(
          `The model endpoint rejected the API key (${error.status}): check OPENAI_API_KEY.`,
          true,
          {
            cause: error,
          },
        );
      }
      if (error.status === 404) {
        return new LlmError(
          `The model endpoint does not know this model (404): check FOLIO_MODEL. ${detail}`,
          true,
          {
            cause: error,
          },
        );
      }
      if (error.status === 400)
        return new LlmError(`The model endpoint refused the request: ${detail}`, true);
      return new LlmError(`The model endpoint failed (${error.status ?? "no status"}): ${detail}`, false, {
        cause: error,
      });
    }
    return error instanceof Error ? error : new Error(String(error));
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

function usageOf(completion: ChatCompletion, prices: Prices): Usage {
  const u = completion.usage;
  const promptTokens = u?.prompt_tokens ?? 0;
  const cachedTokens = u?.prompt_tokens_details?.cached_tokens ?? 0;
  const completionTokens = u?.completion_tokens ?? 0;
  return {
    promptTokens,
    cachedTokens,
    completionTokens,
    costUsd: costOf(prices, promptTokens, cachedTokens, completionTokens),
  };
}

export class BusyClock {
  private inFlight = 0;
  private since = 0;
  private total = 0;

  begin(): void {
    if (this.inFlight++ === 0) this.since = performance.now();
  }

  end(): void {
    if (--this.inFlight === 0) this.total += performance.now() - this.since;
  }

  /** Milliseconds with at least one request in flight so far. */
  get busyMs(): number {
    return this.total + (this.inFlight > 0 ? performance.now() - this.since : 0);
  }
}

/**
 * The SDK adds an abort listener to the signal it is given and never removes it; a project's signal
 * lives for hundreds of calls, so each call gets its own child signal, unlinked when the call ends.
 */
async function withLinkedSignal<T>(
  parent: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<T>,
) {
  const child = new AbortController();
  const forward = () => child.abort(parent?.reason);
  if (parent?.aborted) forward();
  parent?.addEventListener("abort", forward, { once: true });
  try {
    return await run(child.signal);
  } finally {
    parent?.removeEventListener("abort", forward);
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}
