/**
 * The rules OpenAI's Structured Outputs apply to a `json_schema` sent with `strict: true`, as its guide
 * documents them: the root is an object (not `anyOf`); every object sets `additionalProperties: false`
 * and lists every property in `required`; only the documented keywords appear; at most 10 levels of
 * nesting, 5,000 properties and 1,000 enum values. Beyond what OpenAI enforces, every number must carry
 * real bounds: the ±2^53 bounds zod writes for `.int()` have crashed the grammar builders of older
 * llama.cpp/Ollama and vLLM servers. The fake LLM server refuses a schema with any problem, with a 400.
 */

type Node = Record<string, unknown>;

/** Keywords OpenAI's strict mode supports, by what they describe. */
const COMMON = ["type", "description", "title", "enum", "const", "anyOf", "$ref", "$defs", "definitions"];
const KEYWORDS: Record<string, string[]> = {
  object: ["properties", "required", "additionalProperties"],
  array: ["items", "minItems", "maxItems"],
  string: ["pattern", "format"],
  number: ["multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"],
  integer: ["multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"],
  boolean: [],
  null: [],
};
const FORMATS = ["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"];
const MAX_DEPTH = 10;
const MAX_PROPERTIES = 5000;
const MAX_ENUM_VALUES = 1000;
/** A bound larger than this is no bound at all (zod's `.int()` writes ±9007199254740991). */
const SANE_BOUND = 2 ** 31;

/** Every way `schema` breaks strict mode, each as one sentence with its JSON path; empty when it conforms. */
export function strictSchemaProblems(schema: unknown): string[] {
  const problems: string[] = [];
  const stats = { properties: 0, enumValues: 0 };
  if (!isNode(schema) || schema.type !== "object" || "anyOf" in schema) {
    problems.push("$: the root must be an object schema, not anyOf or another type");
  }
  if (isNode(schema)) visit(schema, "$", 1, problems, stats, true);
  if (stats.properties > MAX_PROPERTIES) problems.push(`$: more than ${MAX_PROPERTIES} properties`);
  if (stats.enumValues > MAX_ENUM_VALUES) problems.push(`$: more than ${MAX_ENUM_VALUES} enum values`);
  return problems;
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function visit(
  node: Node,
  path: string,
  depth: number,
  problems: string[],
  stats: { properties: number; enumValues: number },
  root = false,
): void {
  if (depth > MAX_DEPTH) problems.push(`${path}: nested deeper than ${MAX_DEPTH} levels`);
  const types = (Array.isArray(node.type) ? node.type : [node.type]).filter(
    (t): t is string => typeof t === "string",
  );
  const allowed = new Set([
    ...COMMON,
    ...types.flatMap((t) => KEYWORDS[t] ?? []),
    ...(root ? ["$schema"] : []),
  ]);
  for (const key of Object.keys(node)) {
    if (!allowed.has(key)) problems.push(`${path}: "${key}" is not supported in strict mode`);
  }
  for (const t of types) if (!(t in KEYWORDS)) problems.push(`${path}: unknown type "${t}"`);
  if (typeof node.format === "string" && !FORMATS.includes(node.format)) {
    problems.push(`${path}: format "${node.format}" is not supported`);
  }
  if (Array.isArray(node.enum)) stats.enumValues += node.enum.length;
  if (types.includes("object")) checkObject(node, path, depth, problems, stats);
  if (types.includes("array")) {
    if (!isNode(node.items)) problems.push(`${path}: an array needs an items schema`);
    else visit(node.items, `${path}[]`, depth + 1, problems, stats);
  }
  if (types.includes("number") || types.includes("integer")) checkBounds(node, path, problems);
  if (Array.isArray(node.anyOf)) {
    node.anyOf.forEach((branch, i) => {
      if (isNode(branch)) visit(branch, `${path}.anyOf[${i}]`, depth + 1, problems, stats);
    });
  }
  for (const defs of [node.$defs, node.definitions]) {
    if (!isNode(defs)) continue;
    for (const [name, def] of Object.entries(defs)) {
      if (isNode(def)) visit(def, `${path}.$defs.${name}`, depth + 1, problems, stats);
    }
  }
}

function checkObject(
  node: Node,
  path: string,
  depth: number,
  problems: string[],
  stats: { properties: number; enumValues: number },
): void {
  if (node.additionalProperties !== false) {
    problems.push(`${path}: additionalProperties must be false`);
  }
  const properties = isNode(node.properties) ? node.properties : {};
  const keys = Object.keys(properties);
  stats.properties += keys.length;
  const required = new Set(Array.isArray(node.required) ? node.required : []);
  for (const key of keys) {
    if (!required.has(key)) problems.push(`${path}.${key}: every property must be listed in required`);
  }
  for (const key of required) {
    if (typeof key !== "string" || !(key in properties))
      problems.push(`${path}: required names "${String(key)}", which is not a property`);
  }
  for (const [key, child] of Object.entries(properties)) {
    if (isNode(child)) visit(child, `${path}.${key}`, depth + 1, problems, stats);
    else problems.push(`${path}.${key}: a property must be a schema`);
  }
}

function checkBounds(node: Node, path: string, problems: string[]): void {
  const low = node.minimum ?? node.exclusiveMinimum;
  const high = node.maximum ?? node.exclusiveMaximum;
  if (typeof low !== "number" || typeof high !== "number") {
    problems.push(`${path}: a number needs both a minimum and a maximum`);
    return;
  }
  if (Math.abs(low) >= SANE_BOUND || Math.abs(high) >= SANE_BOUND) {
    problems.push(`${path}: bounds ${low}…${high} are too wide to be real bounds`);
  }
}
