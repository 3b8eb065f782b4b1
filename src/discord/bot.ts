import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Message,
  RESTJSONErrorCodes,
} from "discord.js";
import type { Logger } from "pino";
import { type HandlerDeps, routeInteraction } from "../../commands/router";
import { syncCommands } from "../../commands/sync";
import { databaseProblem } from "../../db/client";
import type { Project } from "../../db/schema";
import { createEngine, type Engine } from "../app";
import { type Config, requireKeys } from "../config";
import { type OpsServer, serveOps } from "../ops/http";
import type { ProgressSink } from "../pipeline/events";
import { renderExport } from "../pipeline/manuscript";
import { type SchedulerOptions, workersElsewhere } from "../pipeline/scheduler";
import { thousands } from "../text/format";
import { ThreadPoster } from "./poster";
import { restApi } from "./rest-api";
import type { Shards } from "./shards";
import { DiscordSink } from "./sink";
import { deliveryNonce, dropUnthreadedProjects, setDelivered, threadOf } from "./threads";
import { COLORS, embed, exportAttachments } from "./views";

export interface Bot {
  client: Client;
  engine: Engine;
  sink: DiscordSink;
  /** The health and metrics endpoint, when `FOLIO_HTTP_PORT` is set. */
  ops: OpsServer | undefined;
  stop(): Promise<void>;
}

/** How often a worker looks for gate and needs-attention messages that were never posted. */
const NOTICE_SWEEP_MS = 30_000;

export interface BotOptions {
  scheduler?: Partial<SchedulerOptions>;
  progressIntervalMs?: number;
  /** The gateway shard processes this one manages (`FOLIO_SHARDS`): their health is part of its own. */
  shards?: Shards;
}

/**
 * The Discord bot, in the role `FOLIO_ROLE` gives it:
 * - `all` (the default): one process logs in (Guilds intent only), brings `/novel` up to date, answers
 *   commands and buttons, and runs the scheduler;
 * - `gateway`: logs in and answers commands and buttons, and makes no model calls: the work is left to
 *   workers, which share its database;
 * - `worker`: runs the scheduler and posts progress, gates and deliveries over REST, without a gateway
 *   connection.
 * Nothing Folio posts can ping anyone, except the author on delivery.
 */
export async function startBot(config: Config, log: Logger, options: BotOptions = {}): Promise<Bot> {
  const role = config.FOLIO_ROLE;
  const gateway = role !== "worker";
  const works = role !== "gateway";
  requireKeys(
    config,
    gateway ? ["DISCORD_TOKEN", "DISCORD_APPLICATION_ID"] : ["DISCORD_TOKEN"],
    'to run the Discord bot (see the README, "Running the Discord bot")',
  );
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    // As many gateway shards as Discord asks for (one until a bot is in 2,500 servers). A shard process
    // started by the ShardingManager (FOLIO_SHARDS) is told its shard by the manager instead.
    ...(process.env.SHARDING_MANAGER ? {} : { shards: "auto" as const }),
    // Half of Discord's global limit of 50 a second, counted in discord.js's own one-second windows:
    // however Discord's windows fall across them, the bot never sends 50 in one.
    rest: { ...restApi(config), globalRequestsPerSecond: 25 },
    allowedMentions: { parse: [], repliedUser: false },
  });
  const poster = new ThreadPoster(client);
  // The sink needs the engine's database; events only flow once the scheduler starts, after it is set.
  let forward: ProgressSink = () => {};
  const engine: Engine = createEngine(config, log, {
    sinks: [(event) => forward(event)],
    // The book comes after every message the thread is still owed, when posting runs behind.
    deliver: async (project, signal) => {
      await sink.settled(project.id);
      await deliver(engine, poster, project, signal);
    },
    scheduler: { host: "discord", ...options.scheduler },
    needsModel: works,
  });
  const sink = new DiscordSink(engine.db, poster, log, options.progressIntervalMs);
  forward = sink.sink;
  // Opened first: a port already taken stops the process before it has claimed any work.
  const ops =
    config.FOLIO_HTTP_PORT === undefined
      ? undefined
      : await serveOps(
          { host: config.FOLIO_HTTP_HOST, port: config.FOLIO_HTTP_PORT },
          engine.metrics,
          {
            db: () => databaseProblem(engine.db),
            ...(gateway
              ? { gateway: () => (client.isReady() ? null : "not connected to Discord's gateway") }
              : {}),
            ...(works
              ? { leases: () => (engine.scheduler.leasesHealthy ? null : "lease renewals are failing") }
              : {}),
            ...(options.shards ? { shards: () => options.shards!.problem() } : {}),
          },
          log,
        );
  client.rest.on("response", (_request, response) => {
    if (response.status === 429)
      engine.metrics.rateLimited(response.headers.get("x-ratelimit-global") === "true");
  });
  if (gateway) {
    const deps: HandlerDeps = {
      db: engine.db,
      config,
      scheduler: works ? engine.scheduler : workersElsewhere(engine.db),
      uploadLimit: (channelId) => poster.uploadLimit(channelId),
      post: (threadId, payload) => poster.send(threadId, payload),
      changed: (projectId) => sink.cards.changed(projectId),
    };
    client.on(Events.InteractionCreate, (interaction) => void routeInteraction(interaction, deps));
    client.on(Events.Error, (error) => log.error({ err: error }, "discord client error"));
    const ready = once(client, Events.ClientReady);
    await client.login(config.DISCORD_TOKEN);
    await ready;
    // One shard brings the commands up to date for all: the one holding shard 0.
    const registration =
      client.shard === null || client.shard.ids.includes(0)
        ? await syncCommands(client as Client<true>, config.DISCORD_GUILD_ID)
        : "left to shard 0";
    log.info({ user: client.user?.tag, registration, role }, "connected to Discord");
    const dropped = await dropUnthreadedProjects(engine.db);
    if (dropped.length > 0) log.warn({ projects: dropped }, "dropped projects whose thread was never opened");
  } else {
    // A worker speaks to Discord over REST only.
    client.rest.setToken(config.DISCORD_TOKEN!);
    log.info({ role }, "posting to Discord over REST");
  }
  let sweep: NodeJS.Timeout | undefined;
  if (works) {
    const sweepNotices = (settledMs: number) =>
      sink.repostMissingNotices(settledMs).catch((error: unknown) => {
        log.error({ err: error }, "could not look for the messages projects are owed");
      });
    void sweepNotices(0);
    // A gate reached by a worker that died before posting it is owed too: looked for now and then.
    sweep = setInterval(() => void sweepNotices(NOTICE_SWEEP_MS), NOTICE_SWEEP_MS);
    sweep.unref();
    await engine.scheduler.start();
  }
  return {
    client,
    engine,
    sink: sink,
    ops,
    async stop() {
      clearInterval(sweep);
      await engine.scheduler.stop();
      // Pending progress edits are worth a moment, not a hung shutdown.
      await Promise.race([sink.flush(), sleep(3_000, undefined, { ref: false })]);
      sink.progress.stop();
      sink.cards.stop();
      await client.destroy();
      await ops?.close();
      await engine.close();
    },
  };
}

/**
 * Posts the finished manuscript and its report in the project's thread, mentioning its author (Folio's
 * only mention). Once: a post already recorded is not made again, and the post carries a nonce Discord
 * enforces, so a retry of a post whose answer was lost (a crash, a 500 after the write) gets back the
 * message already made instead of a second one.
 */
async function deliver(
  engine: Engine,
  poster: ThreadPoster,
  project: Project,
  signal: AbortSignal,
): Promise<void> {
  const thread = await threadOf(engine.db, project.id);
  if (!thread) throw new Error(`project ${project.id} has no thread to deliver to`);
  if (thread.deliveryMessageId) return;
  const { threadId } = thread;
  const files = await renderExport(engine.db, project, engine.config.FOLIO_AUTHOR_NAME, "docx");
  const attached = exportAttachments(files, await poster.uploadLimit(threadId), project.id);
  const mention = `<@${project.ownerId}>`;
  const once = {
    nonce: await deliveryNonce(engine.db, project.id, randomBytes(12).toString("hex")),
    allowedMentions: { users: [project.ownerId] },
  };
  const tooLarge = (why: string) =>
    poster.send(threadId, { content: `${mention} **${files.title}** is finished, but ${why}`, ...once });
  signal.throwIfAborted();
  let message: Message;
  if ("tooLarge" in attached) message = await tooLarge(attached.tooLarge);
  else {
    try {
      message = await poster.send(threadId, {
        content: `${mention} your novel is ready.`,
        embeds: [
          embed(
            `📚 ${files.title}`,
            `${files.chapters} chapters, ${thousands(files.words)} words. The Kindle-ready manuscript and its report (validation, continuity, motifs, cost) are attached; \`/novel export\` gives docx, epub or markdown again at any time.`,
            COLORS.success,
          ),
        ],
        files: attached.files,
        ...once,
      });
    } catch (error) {
      // The server's limit is lower than its boost tier says: the author still hears the book is done.
      if (!(error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.RequestEntityTooLarge))
        throw error;
      const size = (files.book.data.length / 2 ** 20).toFixed(1);
      message = await tooLarge(
        `the manuscript (${size} MiB) is over this server's upload limit. Use \`/novel export format:markdown\`, or \`folio export ${project.id}\` on the host.`,
      );
    }
  }
  await setDelivered(engine.db, project.id, message.id);
}
