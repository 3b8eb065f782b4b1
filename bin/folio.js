#!/usr/bin/env node
// Runs the TypeScript sources directly, so the command works from a fresh clone with no build step.
import { launch } from "./launch.js";

await launch("src/cli/main.ts");
