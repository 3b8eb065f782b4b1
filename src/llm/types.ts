import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { z } from "zod";

/** The words of a call: what stages and the client share, and nothing that reaches the database. */
export type ModelRole = "plan" | "draft" | "edit";
export type Messages = ChatCompletionMessageParam[];

/** Who asked: carried into every `llm_calls` row, including the SDK's own retried attempts. */
export interface CallTag {
  projectId: number | null;
  stage: string;
  sceneNumber?: number | null;
  purpose: string;
}

export interface CallOptions extends CallTag {
  role: ModelRole;
  signal?: AbortSignal;
  /** The project's author: model slots are shared fairly between authors, then between projects. */
  owner?: string;
  /**
   * The piece of work the author waits to see that this call is a step of (a scene, up to its text): its
   * steps after the first keep the place in the queue the first was served from.
   */
  unit?: string;
  /** About how many tokens the answer takes: it is asked for with some room to spare (`max_completion_tokens`). */
  outputTokens?: number;
}

export interface ProseOptions extends CallOptions {
  /** About how many words the answer should have: sizes its token budget and any continuation. */
  expectedWords?: number;
  /** Below this many words the answer is treated as unusable and asked again. */
  minWords?: number;
  /**
   * Hand back a cut-off answer instead of asking again: rewrites do, because their guard judges the
   * text against its input and keeps the previous version when the answer is unusable.
   */
  acceptIncomplete?: boolean;
  /** Called while the answer streams in, with the words written so far (live progress). */
  onWords?: (words: number) => void;
}

/** The model as stages use it: a validated JSON answer, or prose. */
export interface Model {
  structured<S extends z.ZodType>(
    schema: S,
    name: string,
    messages: Messages,
    opts: CallOptions,
  ): Promise<{ value: z.output<S> }>;
  prose(messages: Messages, opts: ProseOptions): Promise<{ value: string }>;
  /**
   * The first of `prompts` (the whole prompt first, then ever smaller ones) that fits the model's
   * context window together with the answer `opts` asks for; none fitting stops the project, naming
   * the window. Only as many prompts are made as are measured.
   */
  firstThatFits(prompts: Iterable<Messages>, opts: ProseOptions): Messages;
}
