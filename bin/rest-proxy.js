#!/usr/bin/env node
// `npm run rest-proxy`: the Discord REST proxy that several Folio processes share.
import { launch } from "./launch.js";

await launch("src/rest-proxy.ts");
