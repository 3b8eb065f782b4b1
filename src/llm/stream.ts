import type OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";

/** A streamed answer put back together: its text, refusal, why it stopped, and the usage it reported. */
export interface StreamedAnswer {
  content: string;
  refusal: string | null;
  finish: string;
  /** Absent when the server does not report usage on streams (`stream_options.include_usage`). */
  usage: CompletionUsage | undefined;
}

/**
 * The endpoint went quiet: nothing for the idle timeout (`FOLIO_LLM_IDLE_TIMEOUT_MS`), or the answer
 * was still unfinished at the total cap (`FOLIO_LLM_TIMEOUT_MS`).
 */
export class Silence extends Error {
  constructor(
    readonly kind: "idle" | "total",
    readonly ms: number,
  ) {
    super(
      kind === "idle"
        ? `sent nothing for ${ms / 1000} s (FOLIO_LLM_IDLE_TIMEOUT_MS)`
        : `had not finished its answer after ${ms / 1000} s (FOLIO_LLM_TIMEOUT_MS)`,
    );
    this.name = "Silence";
  }
}

/**
 * Reads a streamed completion chunk by chunk. `heard` is called on every chunk (it resets the idle
 * timer); `onText` gets the text so far, for live progress.
 */
export async function readStream(
  stream: AsyncIterable<ChatCompletionChunk>,
  heard: () => void,
  onText?: (soFar: string) => void,
): Promise<StreamedAnswer> {
  let content = "";
  let refusal: string | null = null;
  let finish = "stop";
  let usage: CompletionUsage | undefined;
  for await (const chunk of stream) {
    heard();
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta?.content) {
      content += choice.delta.content;
      onText?.(content);
    }
    if (choice.delta?.refusal) refusal = (refusal ?? "") + choice.delta.refusal;
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { content, refusal, finish, usage };
}

/**
 * One streamed request under two clocks: the idle timer, restarted by every chunk (and running while
 * the server has not answered at all), and the total cap. Either aborts the request with `Silence`.
 */
export async function streamWithClocks(
  openai: OpenAI,
  body: OpenAI.ChatCompletionCreateParamsNonStreaming,
  clocks: { idleMs: number; totalMs: number; signal?: AbortSignal },
  onHeaders: (headers: Headers) => void,
  onText?: (soFar: string) => void,
): Promise<StreamedAnswer> {
  const local = new AbortController();
  const forward = () => local.abort(clocks.signal?.reason);
  if (clocks.signal?.aborted) forward();
  clocks.signal?.addEventListener("abort", forward, { once: true });
  let idle: NodeJS.Timeout | undefined;
  const heard = () => {
    clearTimeout(idle);
    idle = setTimeout(() => local.abort(new Silence("idle", clocks.idleMs)), clocks.idleMs);
  };
  const total = setTimeout(() => local.abort(new Silence("total", clocks.totalMs)), clocks.totalMs);
  heard();
  try {
    const { data, response } = await openai.chat.completions
      .create({ ...body, stream: true, stream_options: { include_usage: true } }, { signal: local.signal })
      .withResponse();
    onHeaders(response.headers);
    const answer = await readStream(data, heard, onText);
    // The SDK ends a stream quietly when its signal aborts: what was read so far is not an answer.
    if (local.signal.aborted) throw local.signal.reason;
    return answer;
  } catch (error) {
    if (local.signal.reason instanceof Silence) throw local.signal.reason;
    throw error;
  } finally {
    clearTimeout(idle);
    clearTimeout(total);
    clocks.signal?.removeEventListener("abort", forward);
  }
}
