import { join } from "node:path";
import OpenAI, { APIError } from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_SCENES, nonEmpty } from "../stages/types";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { strictSchemaProblems } from "./fakes/strict-schema";
import { ROOT } from "./helpers/cli";
import { sourceFiles } from "./helpers/imports";

/** Every schema a stage file exports, as it goes on the wire; schema factories are asked at both extremes. */
async function wireSchemas(): Promise<Map<string, unknown>> {
  const found = new Map<string, unknown>();
  for (const file of sourceFiles(ROOT, "stages")) {
    const module = (await import(join(ROOT, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      const schemas =
        value instanceof z.ZodType
          ? [value]
          : typeof value === "function" && /Schema$/.test(name)
            ? [3, MAX_SCENES].map((n) => (value as (n: number) => unknown)(n))
            : [];
      schemas.forEach((schema, i) => {
        if (!(schema instanceof z.ZodObject)) return;
        found.set(`${file}:${name}${schemas.length > 1 ? `#${i}` : ""}`, wire(schema));
      });
    }
  }
  return found;
}

const wire = (schema: z.ZodType) => zodResponseFormat(schema, "check").json_schema.schema;

describe("schemas sent as strict json_schema", () => {
  it("every schema the stages send follows OpenAI's strict-mode rules, numbers with real bounds", async () => {
    const schemas = await wireSchemas();
    expect([...schemas.keys()].map((k) => k.split(":")[1])).toEqual(
      expect.arrayContaining([
        "ConceptSchema",
        "WorldSchema",
        "BeatsSchema",
        "CastSchema",
        "chapterPlanSchema#0",
        "chapterPlanSchema#1",
        "sceneCardsSchema#0",
        "sceneCardsSchema#1",
        "SceneDigestSchema",
        "ChapterDigestSchema",
        "CritiqueSchema",
        "AuditSchema",
      ]),
    );
    const problems = [...schemas].flatMap(([name, schema]) =>
      strictSchemaProblems(schema).map((p) => `${name}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("the checker finds what strict mode refuses", () => {
    const old = wire(z.object({ title: z.string().min(1), scene: z.number().int(), at: z.number() }));
    expect(strictSchemaProblems(old)).toEqual([
      '$.title: "minLength" is not supported in strict mode',
      "$.scene: bounds -9007199254740991…9007199254740991 are too wide to be real bounds",
      "$.at: a number needs both a minimum and a maximum",
    ]);
    expect(
      strictSchemaProblems({
        type: "object",
        properties: { a: { type: "string" }, b: { type: "object", properties: {} } },
        required: ["a"],
      }),
    ).toEqual([
      "$: additionalProperties must be false",
      "$.b: every property must be listed in required",
      "$.b: additionalProperties must be false",
    ]);
    expect(strictSchemaProblems({ anyOf: [{ type: "object" }] })[0]).toMatch(/root must be an object/);
  });

  it("a non-empty string says so after parsing, not with minLength", () => {
    const schema = z.object({ title: nonEmpty() });
    expect(strictSchemaProblems(wire(schema))).toEqual([]);
    expect(schema.safeParse({ title: "  " }).success).toBe(false);
    expect(schema.safeParse({ title: "The Salt Lantern" }).success).toBe(true);
  });
});

describe("the fake model refuses a schema strict mode cannot take", () => {
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm();
  });
  afterAll(() => fake.close());

  it("answers 400 naming the problem, as OpenAI does, and generates nothing", async () => {
    const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key", maxRetries: 0 });
    const bad = z.object({ title: z.string().min(1) });
    const error = await client.chat.completions
      .create({
        model: "fake-model",
        messages: [{ role: "user", content: "Name the book." }],
        response_format: zodResponseFormat(bad, "bad_schema"),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).message).toContain(
      "Invalid schema for response_format 'bad_schema': $.title: \"minLength\" is not supported",
    );
    expect(fake.log.at(-1)).toMatchObject({ outcome: "invalid_schema", completionTokens: 0 });
    const good = await client.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "Name the book." }],
      response_format: zodResponseFormat(z.object({ title: nonEmpty() }), "good_schema"),
    });
    expect(JSON.parse(good.choices[0]!.message.content!)).toHaveProperty("title");
  });
});
