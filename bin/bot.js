#!/usr/bin/env node
// `npm start`: the Discord bot, its scheduler, or both (FOLIO_ROLE), started as bin/folio.js starts
// the command line. Shard processes (FOLIO_SHARDS) are started through this file too.
import { launch } from "./launch.js";

await launch("src/index.ts");
