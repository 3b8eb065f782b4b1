import { join } from "node:path";
import { and, eq, inArray, min } from "drizzle-orm";
import pino from "pino";
import { afterEach } from "vitest";
import { sceneVersions } from "../../db/schema";
import { createEngine, type Engine } from "../../src/app";
import { loadConfig } from "../../src/config";
import { renderBook } from "../../src/export/index";
import { createProject, type NewProject, parseNewProject } from "../../src/pipeline/actions";
import type { ProgressEvent } from "../../src/pipeline/events";
import { loadManuscript } from "../../src/pipeline/manuscript";
import type { SchedulerOptions } from "../../src/pipeline/scheduler";
import type { Deliverer } from "../../src/pipeline/unit";
import { type FakeLlm, type FakeLlmOptions, startFakeLlm } from "../fakes/llm-server";
import { tempDir } from "./cli";
import { storeFor } from "./postgres";

export interface TestEngine extends Engine {
  events: ProgressEvent[];
  delivered: Map<number, Buffer>;
  dir: string;
  /** A new project, the test author's unless `ownerId` says whose. */
  create(input: NewProject, ownerId?: string): Promise<number>;
  /** How the project ended, once it has: its `done` or `needs_attention` event. */
  ended(id: number): Extract<ProgressEvent, { type: "done" | "needs_attention" }> | undefined;
}

/** An engine wired to a fake endpoint, recording every progress event and delivered .docx. */
export function startTestEngine(
  llmUrl: string,
  env: Record<string, string> = {},
  scheduler: Partial<SchedulerOptions> = {},
  onEvent: (event: ProgressEvent) => void = () => {},
  /** Runs at each hand-over, before the book is recorded as delivered. */
  onDeliver?: Deliverer,
): TestEngine {
  const dir = tempDir("folio-engine-");
  const config = loadConfig(
    {
      OPENAI_BASE_URL: llmUrl,
      OPENAI_API_KEY: "test-key",
      FOLIO_DB_PATH: join(dir, "folio.db"),
      FOLIO_LLM_TIMEOUT_MS: "60000",
      FOLIO_LLM_IDLE_TIMEOUT_MS: "5000",
      FOLIO_RETRY_BASE_MS: "200",
      ...storeFor(env),
      ...env,
    },
    { dotenv: false },
  );
  const events: ProgressEvent[] = [];
  const delivered = new Map<number, Buffer>();
  const engine: Engine = createEngine(config, pino({ level: "silent" }), {
    sinks: [(e) => events.push(e), onEvent],
    deliver: async (project, signal) => {
      await onDeliver?.(project, signal);
      delivered.set(
        project.id,
        await renderBook("docx", await loadManuscript(engine.db, project, "Test Author")),
      );
    },
    scheduler: { leaseMs: 2000, pollMs: 100, retryBaseMs: 20, ...scheduler },
  });
  return Object.assign(engine, {
    events,
    delivered,
    dir,
    async create(input: NewProject, ownerId = "tester"): Promise<number> {
      const parsed = parseNewProject(input);
      if (!parsed.ok) throw new Error(parsed.message);
      const project = await createProject(engine.db, parsed.value, { ownerId });
      engine.scheduler.wake();
      return project.id;
    },
    ended: (id: number) =>
      events.find(
        (x): x is Extract<ProgressEvent, { type: "done" | "needs_attention" }> =>
          (x.type === "done" || x.type === "needs_attention") && x.projectId === id,
      ),
  });
}

/** A fake model and an engine wired to it, for one test at a time: both are closed after each test. */
export function perTest() {
  let fake: FakeLlm | undefined;
  let engine: TestEngine | undefined;
  afterEach(async () => {
    await engine?.close();
    await fake?.close();
    engine = undefined;
    fake = undefined;
  });
  return {
    async start(options: FakeLlmOptions, env: Record<string, string> = {}, onDeliver?: Deliverer) {
      await engine?.close();
      await fake?.close();
      fake = await startFakeLlm(options);
      engine = startTestEngine(fake.url, env, {}, () => {}, onDeliver);
      return { fake, engine };
    },
  };
}

/** When the project's first scene was drafted (its first version's time), once it has been. */
export async function firstSceneAt(engine: Engine, projectId: number): Promise<number | undefined> {
  return (await firstScenesAt(engine, [projectId])).get(projectId);
}

/**
 * When each of these projects' first scene was drafted, for those whose has been: one query for them
 * all, so a test polling many projects does not crowd the engine's own connections.
 */
export async function firstScenesAt(engine: Engine, projectIds: number[]): Promise<Map<number, number>> {
  const rows = await engine.db
    .select({ id: sceneVersions.projectId, at: min(sceneVersions.createdAt) })
    .from(sceneVersions)
    .where(and(inArray(sceneVersions.projectId, projectIds), eq(sceneVersions.sceneNumber, 1)))
    .groupBy(sceneVersions.projectId);
  return new Map(rows.flatMap(({ id, at }) => (at === null ? [] : [[id, Number(at)] as const])));
}
