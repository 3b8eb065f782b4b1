/**
 * Over 300 lines: the spec checker itself, both fakes refusing what the real services would refuse, and
 * short real runs whose every request must conform, belong side by side.
 *
 * What Folio sends, checked against Discord's and OpenAI's own OpenAPI specifications: the checker
 * accepts what the real clients send and reads the specs' OpenAPI 3.0 leftovers with their 3.0 meaning;
 * the fakes answer a request that breaks a spec with the service's own 400; and a run of the real
 * engine sends nothing that breaks one.
 */
import { DiscordAPIError, REST, Routes } from "discord.js";
import OpenAI, { APIError } from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { novelCommand } from "../commands/novel/index";
import { type FakeDiscord, startFakeDiscord } from "./fakes/discord-server";
import { type FakeLlm, REALISTIC, startFakeLlm } from "./fakes/llm-server";
import { eventually, failure } from "./helpers/cli";
import { perTest } from "./helpers/engine";
import { checkRequest, findOperation, requestViolations } from "./helpers/openapi";

const CHAT = "/v1/chat/completions";

/** A request as Folio's model client sends it: streamed, usage asked for, a budget set. */
const chat = (extra: Record<string, unknown> = {}) => ({
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "You write novels." },
    { role: "user", content: "Draft scene 3. Target length: about 1200 words." },
  ],
  max_completion_tokens: 2400,
  stream: true,
  stream_options: { include_usage: true },
  ...extra,
});

describe("the OpenAPI checker", () => {
  it("accepts what Folio sends the model: prose, structured outputs, JSON mode, provider options", () => {
    const Plan = z.object({ scenes: z.array(z.object({ title: z.string(), words: z.int() })) });
    const bodies = [
      chat(),
      chat({ response_format: zodResponseFormat(Plan, "plan") }),
      chat({ response_format: { type: "json_object" }, reasoning_effort: "low" }),
      // FOLIO_EXTRA_BODY: OpenRouter's options ride along; OpenAI's schema leaves unknown fields open.
      chat({ provider: { require_parameters: true } }),
      chat({
        messages: [
          { role: "user", content: "Continue the scene." },
          { role: "assistant", content: "The tide came in." },
          { role: "user", content: [{ type: "text", text: "Go on from there." }] },
        ],
      }),
    ];
    for (const body of bodies) expect(checkRequest("openai", "POST", CHAT, body)).toEqual([]);
    expect(checkRequest("openai", "GET", "/v1/models")).toEqual([]);
  });

  it("names what is wrong in a chat request, and where", () => {
    expect(checkRequest("openai", "POST", CHAT, chat({ temperature: "hot" }))).toEqual([
      "POST /chat/completions: body.temperature must be number or null",
    ]);
    const { messages: _dropped, ...noMessages } = chat();
    expect(checkRequest("openai", "POST", CHAT, noMessages)).toEqual([
      "POST /chat/completions: body.messages is required",
    ]);
    expect(
      checkRequest("openai", "POST", CHAT, chat({ messages: [{ role: "wizard", content: "Hi" }] })),
    ).toEqual([
      'POST /chat/completions: body.messages[0].role must be one of ["developer","system","user","assistant","tool","function"]',
    ]);
    expect(
      checkRequest(
        "openai",
        "POST",
        CHAT,
        chat({ messages: [{ role: "user", content: [{ type: "text" }] }] }),
      ),
    ).toEqual(["POST /chat/completions: body.messages[0].content[0].text is required"]);
    expect(checkRequest("openai", "POST", CHAT, chat({ max_completion_tokens: 12.5, messages: [] }))).toEqual(
      [
        "POST /chat/completions: body.messages must NOT have fewer than 1 items",
        "POST /chat/completions: body.max_completion_tokens must be integer or null",
      ],
    );
  });

  it("reads OpenAPI 3.0's nullable, boolean exclusiveMinimum and $recursiveRef as 3.0 meant them", () => {
    // nullable: true with a type, and without one (prediction is a bare $ref made nullable).
    for (const nulls of [
      { temperature: null },
      { max_completion_tokens: null },
      { prediction: null },
      { stop: null },
    ])
      expect(checkRequest("openai", "POST", CHAT, chat(nulls))).toEqual([]);
    expect(checkRequest("openai", "POST", CHAT, chat({ prediction: 5 }))).not.toEqual([]);
    // minimum: 0 with exclusiveMinimum: true means above zero.
    const tuning = (multiplier: unknown) =>
      checkRequest("openai", "POST", "/v1/fine_tuning/jobs", {
        model: "gpt-4o-mini",
        training_file: "file-abc123",
        hyperparameters: { learning_rate_multiplier: multiplier },
      });
    expect(tuning(0.5)).toEqual([]);
    expect(tuning("auto")).toEqual([]);
    expect(tuning(0)).toEqual([
      "POST /fine_tuning/jobs: body.hyperparameters.learning_rate_multiplier must be > 0",
    ]);
    // A compound filter nests compound filters through $recursiveRef.
    const search = (inner: unknown) =>
      checkRequest("openai", "POST", "/v1/vector_stores/vs_1/search", {
        query: "lighthouse",
        filters: { type: "and", filters: [inner] },
      });
    expect(search({ type: "or", filters: [{ type: "eq", key: "genre", value: "mystery" }] })).toEqual([]);
    expect(search({ type: "xor", filters: [] })).not.toEqual([]);
  });

  it("accepts what Folio sends Discord: its command, messages, callbacks, follow-ups and threads", () => {
    const ok = (method: string, path: string, body?: unknown) =>
      expect(checkRequest("discord", method, path, body), `${method} ${path}`).toEqual([]);
    ok("PUT", "/api/v10/applications/1/guilds/2/commands", [novelCommand()]);
    const buttons = {
      type: 1,
      components: [
        { type: 2, style: 3, label: "Approve", custom_id: "approve:1" },
        { type: 2, style: 2, label: "Revise", custom_id: "revise:1" },
      ],
    };
    const embed = { title: "Outline", description: "Twelve chapters.", color: 0x5865f2, fields: [] };
    ok("POST", "/channels/1/messages", { content: "Ready.", embeds: [embed], components: [buttons] });
    ok("PATCH", "/channels/1/messages/2", { content: "Approved", components: [] });
    ok("POST", "/interactions/1/token/callback?with_response=true", { type: 5, data: { flags: 64 } });
    ok("POST", "/interactions/1/token/callback", {
      type: 8,
      data: { choices: [{ name: "The Keeper", value: "1" }] },
    });
    ok("POST", "/interactions/1/token/callback", {
      type: 9,
      data: {
        custom_id: "revise:1",
        title: "Revise the outline",
        components: [{ type: 18, label: "Notes", component: { type: 4, custom_id: "notes", style: 2 } }],
      },
    });
    ok("POST", "/webhooks/1/token?wait=true", { content: "Done.", flags: 64 });
    ok("PATCH", "/webhooks/1/token/messages/@original", { content: "Started.", embeds: [embed] });
    ok("POST", "/channels/1/threads", { name: "The Keeper", auto_archive_duration: 10080, type: 11 });
    // An upload's JSON travels in its payload_json part.
    expect(
      requestViolations("discord", {
        method: "POST",
        path: "/channels/1/messages",
        contentType: "multipart/form-data; boundary=x",
        body: { content: "Your novel", attachments: [{ id: "0", filename: "novel.docx" }] },
      }),
    ).toEqual([]);
  });

  it("names Discord fields the way Discord's error tree does, and unknown operations and parameters", () => {
    expect(
      checkRequest("discord", "POST", "/channels/1/messages", {
        content: 5,
        embeds: [{ title: "x".repeat(257) }],
      }),
    ).toEqual([
      "POST /channels/{channel_id}/messages: body.content must be string or null",
      "POST /channels/{channel_id}/messages: body.embeds[0].title must NOT have more than 256 characters",
    ]);
    expect(
      checkRequest("discord", "POST", "/channels/1/threads", { name: "Keeper", auto_archive_duration: 999 }),
    ).toEqual([
      "POST /channels/{channel_id}/threads: body.auto_archive_duration must be one of [60,1440,4320,10080,null]",
    ]);
    expect(
      checkRequest("discord", "POST", "/interactions/1/token/callback?with_response=maybe&x=1", { type: 5 }),
    ).toEqual([
      "POST /interactions/{interaction_id}/{interaction_token}/callback: query.x is not a query parameter of this operation",
      "POST /interactions/{interaction_id}/{interaction_token}/callback: query.with_response must be boolean",
    ]);
    expect(checkRequest("discord", "POST", "/channels/1/messages/2/publish")).toEqual([
      "POST /channels/1/messages/2/publish: is not an operation of Discord's API specification",
    ]);
    expect(checkRequest("discord", "GET", "/channels/1", { name: "x" })).toEqual([
      "GET /channels/{channel_id}: body is sent, but the operation takes none",
    ]);
    // A literal segment wins over a parameter in the same place.
    expect(findOperation("discord", "PATCH", "/webhooks/1/t/messages/@original")).toBe(
      "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original",
    );
  });
});

describe("the fake model", () => {
  let fake: FakeLlm | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("refuses a request OpenAI's spec does not allow with OpenAI's 400, and records it", async () => {
    fake = await startFakeLlm({ seed: 3 });
    const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key", maxRetries: 0 });
    const hot = await failure<APIError>(
      client.chat.completions.create({
        model: "fake-model",
        messages: [{ role: "user", content: "Write." }],
        temperature: "hot" as unknown as number,
      }),
    );
    expect(hot).toBeInstanceOf(APIError);
    expect([hot.status, hot.type, hot.param, hot.code]).toEqual([
      400,
      "invalid_request_error",
      "temperature",
      "invalid_type",
    ]);
    expect(hot.message).toContain(
      "Invalid type for 'temperature': expected a decimal or null, but got a string",
    );

    const wizard = await failure<APIError>(
      client.chat.completions.create({
        model: "fake-model",
        messages: [{ role: "wizard" as "user", content: "Write." }],
      }),
    );
    expect([wizard.param, wizard.code]).toEqual(["messages[0].role", "invalid_value"]);

    const missing = await fetch(`${fake.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer test-key", "content-type": "application/json" },
      body: JSON.stringify({ model: "fake-model" }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: {
        message: "Missing required parameter: 'messages'.",
        type: "invalid_request_error",
        param: "messages",
        code: "missing_required_parameter",
      },
    });

    expect(fake.log.map((e) => [e.outcome, e.completionTokens])).toEqual([
      ["invalid_request", 0],
      ["invalid_request", 0],
      ["invalid_request", 0],
    ]);
    expect(fake.log[0]!.violations).toEqual([
      "POST /chat/completions: body.temperature must be number or null",
    ]);
    expect(fake.violations.map((v) => [v.seq, v.problems.length])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    // A conforming request is answered as before.
    await expect(
      client.chat.completions.create({
        model: "fake-model",
        messages: [{ role: "user", content: "Write." }],
      }),
    ).resolves.toMatchObject({ object: "chat.completion" });
    expect(fake.violations).toHaveLength(3);
  });

  it("still refuses a schema strict mode cannot compile, which the spec itself allows", async () => {
    fake = await startFakeLlm({ seed: 3 });
    const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key", maxRetries: 0 });
    const loose = await failure<APIError>(
      client.chat.completions.create({
        model: "fake-model",
        messages: [{ role: "user", content: "Plan." }],
        response_format: {
          type: "json_schema",
          json_schema: { name: "plan", strict: true, schema: { type: "object", properties: {} } },
        },
      }),
    );
    expect([loose.status, loose.param]).toEqual([400, "response_format"]);
    expect(fake.log.map((e) => e.outcome)).toEqual(["invalid_schema"]);
    expect(fake.violations).toEqual([]);
  });
});

describe("the fake Discord", () => {
  let fake: FakeDiscord | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("refuses what Discord's spec does not allow with Discord's Invalid Form Body, and records it", async () => {
    fake = await startFakeDiscord();
    const rest = new REST({ api: fake.apiUrl, retries: 0 }).setToken(fake.token);
    const channel = fake.channelId;

    const number = await failure<DiscordAPIError>(
      rest.post(Routes.channelMessages(channel), { body: { content: 5 } }),
    );
    expect(number).toBeInstanceOf(DiscordAPIError);
    expect([number.status, number.code]).toEqual([400, 50035]);
    expect(number.rawError).toEqual({
      code: 50035,
      message: "Invalid Form Body",
      errors: {
        content: { _errors: [{ code: "BASE_TYPE_BAD_TYPE", message: "Value must be string or null." }] },
      },
    });

    const title = await failure<DiscordAPIError>(
      rest.post(Routes.channelMessages(channel), { body: { embeds: [{ title: "t".repeat(257) }] } }),
    );
    expect(title.message).toContain("embeds[0].title[BASE_TYPE_MAX_LENGTH]: Must be 256 or fewer in length.");

    const thread = await failure<DiscordAPIError>(
      rest.post(Routes.threads(channel), { body: { name: "The Keeper", auto_archive_duration: 999 } }),
    );
    expect(thread.message).toContain("auto_archive_duration[BASE_TYPE_CHOICES]");

    const query = await failure<DiscordAPIError>(
      rest.post(Routes.channelMessages(channel), {
        body: { content: "Hello" },
        query: new URLSearchParams({ bogus: "1" }),
      }),
    );
    expect(query.message).toContain("bogus[BASE_TYPE_INVALID]");

    // Interaction callbacks carry no bot token; plain fetch reaches them as Discord's own servers would.
    const callback = await fetch(`${fake.apiUrl}/v10/interactions/1/token/callback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: 4, data: { content: 12 } }),
    });
    expect(callback.status).toBe(400);
    expect(await callback.json()).toMatchObject({
      code: 50035,
      errors: { data: { content: { _errors: [{ code: "BASE_TYPE_BAD_TYPE" }] } } },
    });

    // An upload whose payload_json breaks the spec is refused before anything is stored.
    const form = new FormData();
    form.append("payload_json", JSON.stringify({ content: "Here", attachments: [{ id: 0 }] }));
    form.append("files[0]", new Blob(["# Novel"]), "novel.md");
    const upload = await fetch(`${fake.apiUrl}/v10/channels/${channel}/messages`, {
      method: "POST",
      headers: { authorization: `Bot ${fake.token}` },
      body: form,
    });
    expect(upload.status).toBe(400);
    expect(await upload.json()).toMatchObject({ errors: { attachments: { 0: { id: { _errors: [{}] } } } } });

    expect(fake.messages(channel)).toEqual([]);
    expect(fake.threads()).toEqual([]);
    expect(fake.violations.map((v) => `${v.method} ${v.path.replace(/\d{5,}/g, "N")}`)).toEqual([
      "POST /channels/N/messages",
      "POST /channels/N/messages",
      "POST /channels/N/threads",
      "POST /channels/N/messages?bogus=1",
      "POST /interactions/1/token/callback",
      "POST /channels/N/messages",
    ]);
    expect(fake.stats().rejected.map((r) => r.code)).toEqual([50035, 50035, 50035, 50035, 50035, 50035]);

    // What conforms goes through as before.
    await rest.post(Routes.channelMessages(channel), { body: { content: "Hello" } });
    expect(fake.messages(channel).map((m) => m.content)).toEqual(["Hello"]);
    expect(fake.violations).toHaveLength(6);
  });

  it("records a call to an operation Discord does not have, and answers it 404 as Discord does", async () => {
    fake = await startFakeDiscord();
    const rest = new REST({ api: fake.apiUrl, retries: 0 }).setToken(fake.token);
    const missing = await failure<DiscordAPIError>(rest.get("/nowhere"));
    expect([missing.status, missing.code]).toEqual([404, 0]);
    expect(fake.violations.map((v) => v.problems)).toEqual([
      ["GET /nowhere: is not an operation of Discord's API specification"],
    ]);
  });
});

const world = perTest();

describe("a real run of the engine", () => {
  it("sends the model only requests OpenAI's specification allows, structured outputs and all", async () => {
    const { fake, engine } = await world.start(
      { ...REALISTIC, seed: 17 },
      {
        FOLIO_CONTEXT_TOKENS: String(REALISTIC.contextWindow),
        FOLIO_MAX_OUTPUT_TOKENS: String(REALISTIC.outputCap),
      },
    );
    const id = await engine.create({
      premise: "A lighthouse keeper finds a map that redraws itself every night.",
      scenes: 4,
      words: 4000,
      autoApprove: true,
    });
    await eventually(() => engine.events.some((e) => e.type === "done" && e.projectId === id), 90_000);
    expect(fake.log.length).toBeGreaterThan(20);
    expect(fake.log.some((e) => e.kind === "structured")).toBe(true);
    expect(fake.log.filter((e) => e.outcome === "invalid_request")).toEqual([]);
    expect(fake.violations).toEqual([]);
  });

  it("and in JSON mode, with a repair round, reasoning effort and provider options", async () => {
    const { fake, engine } = await world.start(
      { seed: 18, faults: { rateSchemaMismatch: 0.3 } },
      {
        FOLIO_STRUCTURED: "json_object",
        FOLIO_REASONING_EFFORT: "low",
        FOLIO_EXTRA_BODY: '{"provider":{"require_parameters":true}}',
      },
    );
    const id = await engine.create({
      premise: "A lighthouse keeper finds a map that redraws itself every night.",
      scenes: 4,
      words: 4000,
      autoApprove: true,
    });
    await eventually(() => engine.events.some((e) => e.type === "done" && e.projectId === id), 90_000);
    expect(fake.log.some((e) => e.firstLine.includes("does not match"))).toBe(true);
    const formats = fake.log.filter((e) => e.kind === "structured").map((e) => e.params.response_format);
    expect(formats.length).toBeGreaterThan(5);
    expect(formats.every((f) => (f as { type?: string }).type === "json_object")).toBe(true);
    expect(fake.violations).toEqual([]);
  });
});
