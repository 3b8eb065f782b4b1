import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { Silence } from "./stream";

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
 * The model declined to answer (a refusal or a content filter's stop). Fatal for a unit that must have
 * an answer; a revision pass, whose scene is written already, keeps the scene as it was instead.
 */
export class ModelDeclined extends LlmError {
  constructor(
    message: string,
    /** `refusal` or `content_filter`. */
    readonly kind: string,
  ) {
    super(message, true);
    this.name = "ModelDeclined";
  }
}

/**
 * A refusal (`message.refusal`) or a content filter's stop. Asking the same thing again rarely changes
 * the answer and costs each time, so it stops the unit at once and the author decides what to change.
 */
export function declineOf(
  choice: ChatCompletion["choices"][number] | undefined,
): { outcome: string; text: string; error: LlmError } | undefined {
  if (!choice) return undefined;
  const advice = "Change what the card or the premise asks for, or choose another model, then retry.";
  if (choice.message.refusal) {
    const text = choice.message.refusal.trim();
    return {
      outcome: "refusal",
      text,
      error: new ModelDeclined(`The model refused: "${text}" ${advice}`, "refusal"),
    };
  }
  if (choice.finish_reason !== "content_filter") return undefined;
  const partial = (choice.message.content ?? "").trim();
  return {
    outcome: "content_filter",
    text: `stopped by the content filter${partial ? ` after: ${partial.slice(0, 300)}` : ""}`,
    error: new ModelDeclined(`The provider's content filter stopped the answer. ${advice}`, "content_filter"),
  };
}

/** Turns SDK errors into one plain sentence an author or operator can act on. */
export function explain(error: unknown, where: string): Error {
  if (error instanceof LlmError) return error;
  if (error instanceof APIUserAbortError)
    return new LlmError("The call was cancelled.", true, { cause: error });
  if (error instanceof Silence) {
    return new LlmError(`The model endpoint ${where} ${error.message}.`, false, { cause: error });
  }
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
    if (error.status === 429 && error.code === "insufficient_quota") {
      return new LlmError(
        "The model endpoint says this API key has no quota left (429 insufficient_quota): add credit or use another key, then retry.",
        true,
        { cause: error },
      );
    }
    if (error.status === 400) {
      const param = error.param ? ` (parameter: ${error.param})` : "";
      return new LlmError(`The model endpoint refused the request${param}: ${detail}`, true, {
        cause: error,
      });
    }
    return new LlmError(`The model endpoint failed (${error.status ?? "no status"}): ${detail}`, false, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
