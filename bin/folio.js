#!/usr/bin/env node
// Runs the TypeScript sources directly, so the command works from a fresh clone with no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
