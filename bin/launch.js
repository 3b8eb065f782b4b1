// Starts one of Folio's TypeScript programs from a fresh clone, with no build step, and quickly.
//
// The first start bundles the program's own sources (packages stay outside) into one module under
// node_modules/.cache/folio, with esbuild; later starts import that module, so Node loads one file of
// Folio instead of a hundred through a TypeScript loader: about a second less for every `folio`
// command and every bot process. Any change to a bundled source, to the tsconfig or to esbuild is
// seen at the next start, which bundles again. When bundling cannot be done (no esbuild, a read-only
// directory), or FOLIO_FROM_SOURCE=1 asks for it (stack traces then name the .ts files and lines), the
// program runs through tsx's loader.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = join(ROOT, "node_modules/.cache/folio");
/** Bumped when the way bundles are made changes, so older bundles are not taken for current. */
const FORMAT = 1;

/** Runs `entry` (a path from the project's root, such as `src/cli/main.ts`). */
export async function launch(entry) {
  const bundle =
    process.env.FOLIO_FROM_SOURCE === "1" ? undefined : await bundled(entry).catch(() => undefined);
  if (bundle) {
    await import(pathToFileURL(bundle).href);
    return;
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(ROOT, entry)).href);
}

/**
 * The current bundle of `entry` (a path from `root`), made afresh in `cache` when any of its sources
 * changed since it was made; returns the bundle's path.
 */
export async function bundled(entry, { root = ROOT, cache = CACHE } = {}) {
  const name = entry.replace(/\.ts$/, "").replace(/[\\/]/g, "-");
  const out = join(cache, `${name}.mjs`);
  const manifest = join(cache, `${name}.json`);
  if (current(manifest, root)) return out;
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    metafile: true,
    write: false,
    outfile: out,
    logLevel: "silent",
    plugins: [sourceLocations],
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(root, input));
  inputs.push(join(root, "tsconfig.json"));
  const stamp = {
    format: FORMAT,
    esbuild: esbuild.version,
    node: process.version,
    inputs: Object.fromEntries(inputs.map((path) => [relative(root, path), fingerprint(path)])),
  };
  mkdirSync(cache, { recursive: true });
  // Written beside and renamed into place, so processes starting together never read half a bundle.
  const unique = `${process.pid}-${Date.now()}`;
  for (const file of result.outputFiles) {
    writeFileSync(`${file.path}.${unique}`, file.contents);
    renameSync(`${file.path}.${unique}`, file.path);
  }
  writeFileSync(`${manifest}.${unique}`, JSON.stringify(stamp));
  renameSync(`${manifest}.${unique}`, manifest);
  return out;
}

/** Whether the bundle recorded in `manifest` was made from the sources under `root` as they are now. */
function current(manifest, root) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(manifest, "utf8"));
  } catch {
    return false;
  }
  if (stamp.format !== FORMAT || stamp.node !== process.version) return false;
  try {
    const esbuild = JSON.parse(readFileSync(join(ROOT, "node_modules/esbuild/package.json"), "utf8"));
    if (esbuild.version !== stamp.esbuild) return false;
    return Object.entries(stamp.inputs).every(([path, print]) => fingerprint(join(root, path)) === print);
  } catch {
    return false;
  }
}

/** A file's size and time of change, or "none" for a file that is not there. */
function fingerprint(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? `${stat.size}:${stat.mtimeMs}` : "none";
}

/**
 * Each source keeps its own `import.meta.url` (and dirname) inside the bundle, so paths made from it
 * (the migrations beside the database code, a program's own file) name the same files as before.
 */
const sourceLocations = {
  name: "source-locations",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("import.meta.")) return undefined;
      const url = pathToFileURL(args.path).href;
      const contents = source
        .replaceAll("import.meta.url", JSON.stringify(url))
        .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
        .replaceAll("import.meta.filename", JSON.stringify(args.path));
      return { contents, loader: "ts" };
    });
  },
};
