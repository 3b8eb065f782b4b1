import { APIError } from "openai";
import { describe, expect, it } from "vitest";
import { llmCalls } from "../db/schema";
import { LlmError } from "../src/llm/errors";
import { failure } from "./helpers/cli";
import { perTest } from "./helpers/engine";
import { rowsOf } from "./helpers/rows";

const world = perTest();
const ASK = [{ role: "user" as const, content: "Write two sentences about a lighthouse in winter." }];
const TAG = { projectId: null, stage: "test", purpose: "test", role: "draft" as const, expectedWords: 40 };

/** Every model call is recorded, and the recording never costs an answer or hides a cause. */
describe("recording model calls", () => {
  it("keeps a paid answer whose row cannot be written, and does not ask for it again", async () => {
    const { fake, engine } = await world.start({ seed: 41 });
    // The database refuses the row, as a full disk would.
    if (engine.config.DATABASE_URL) {
      await rowsOf(
        engine.db,
        "CREATE FUNCTION refuse_calls() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'database or disk is full'; END $$ LANGUAGE plpgsql",
      );
      await rowsOf(
        engine.db,
        "CREATE TRIGGER refuse_calls BEFORE INSERT ON llm_calls FOR EACH ROW EXECUTE FUNCTION refuse_calls()",
      );
    } else {
      engine.db.$client.exec(
        "CREATE TRIGGER refuse_calls BEFORE INSERT ON llm_calls BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
      );
    }
    const { value } = await engine.llm.prose(ASK, TAG);
    expect(value.length).toBeGreaterThan(0);
    // Nothing was asked twice (an answer cut at its limit is continued, which is a new request).
    expect(new Set(fake.log.map((e) => e.prompt)).size).toBe(fake.log.length);
    if (engine.config.DATABASE_URL) await rowsOf(engine.db, "DROP TRIGGER refuse_calls ON llm_calls");
    else engine.db.$client.exec("DROP TRIGGER refuse_calls");
    expect(await engine.db.select().from(llmCalls)).toEqual([]);
  });

  it("names why the endpoint refused a request (400), keeps the error as its cause and records it", async () => {
    // A temperature of 5 is outside what OpenAI's specification allows: the endpoint answers 400.
    const { fake, engine } = await world.start({ seed: 42 }, { FOLIO_EXTRA_BODY: '{"temperature": 5}' });
    const error = await failure<LlmError>(engine.llm.prose(ASK, TAG));
    expect(error).toBeInstanceOf(LlmError);
    expect(error.fatal).toBe(true);
    expect(error.message).toMatch(
      /^The model endpoint refused the request \(parameter: temperature\): .*temperature/,
    );
    expect(error.cause).toBeInstanceOf(APIError);
    expect((error.cause as APIError).status).toBe(400);
    expect(fake.log).toHaveLength(1);
    expect(await engine.db.select({ outcome: llmCalls.outcome }).from(llmCalls)).toEqual([
      { outcome: "http_400" },
    ]);
  });
});
