import type { Messages } from "./types";

/**
 * Structured answers from servers without `json_schema` support (`FOLIO_STRUCTURED=json_object`): the
 * schema travels in the prompt, and an answer that does not match it is shown its mistake once.
 */
const SCHEMA_INTRO = "Answer with one JSON object, and nothing else, that matches this JSON Schema:";

export function withSchemaInPrompt(messages: Messages, schema: unknown): Messages {
  const last = messages.at(-1);
  const instruction = `${SCHEMA_INTRO}\n${JSON.stringify(schema)}`;
  if (last?.role !== "user" || typeof last.content !== "string") {
    return [...messages, { role: "user", content: instruction }];
  }
  return [...messages.slice(0, -1), { role: "user", content: `${last.content}\n\n${instruction}` }];
}

export function repairMessages(
  messages: Messages,
  answer: string,
  problem: string,
  schema: unknown,
): Messages {
  return [
    ...messages,
    { role: "assistant", content: answer },
    {
      role: "user",
      content: `That answer does not match the schema (${problem.slice(0, 1500)}). ${SCHEMA_INTRO}\n${JSON.stringify(schema)}`,
    },
  ];
}
