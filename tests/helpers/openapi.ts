/**
 * Over 300 lines: loading a spec, rewriting OpenAPI 3.0 leftovers, matching operations and explaining
 * Ajv's errors belong together; each part is small and only used here.
 *
 * What the bot and the model client send, checked against the API owners' own OpenAPI specifications
 * (Discord's and OpenAI's, kept beside the repository in `../shared/specs`), so the fakes refuse what the
 * real services would refuse.
 *
 * A spec is read once per process, on its first use, and each operation's validators are compiled on the
 * first request that reaches it. OpenAI's file still carries OpenAPI 3.0 leftovers (`nullable: true`,
 * boolean `exclusiveMinimum`, `$recursiveRef`); they are rewritten into JSON Schema 2020-12 with their
 * 3.0 meaning before Ajv sees them, and OpenAPI-only keywords (`discriminator`, `example`, `x-*`) are
 * dropped.
 *
 * Checked: that the method and path name an operation of the spec, the path parameters, the query
 * parameters (no unknown ones), and the JSON body (or the `payload_json` part of a multipart body)
 * against the operation's request body schema. Not checked: headers, the uploaded files themselves, and
 * anything the spec does not say: unknown body fields (neither spec closes its request objects, and
 * `FOLIO_EXTRA_BODY` relies on that for other providers' options), limits stated only in prose (the
 * characters allowed in a `json_schema` name) or stricter in practice than in the spec (a bot's 2,000
 * characters per message where the spec says 4,000: the Discord fake's own checks enforce those).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { ROOT } from "./cli";

export type ApiSpec = "discord" | "openai";

export const SPEC_FILES: Record<ApiSpec, string> = {
  discord: join(ROOT, "..", "shared", "specs", "discord-openapi.json"),
  openai: join(ROOT, "..", "shared", "specs", "openai-openapi.json"),
};

/** One way a request breaks its spec. */
export interface Violation {
  /** `POST /channels/{channel_id}/messages`; the method and concrete path when no operation matched. */
  operation: string;
  /** What is wrong: the operation itself, a path or query parameter, or the body. */
  in: "operation" | "path" | "query" | "body";
  /** Where inside it: property names and array indexes, outermost first. */
  at: (string | number)[];
  /** The JSON Schema keyword that failed (`type`, `maxLength`, `required`...), or `operation`/`body`. */
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}

export interface RequestToCheck {
  method: string;
  /** The concrete path, with or without the server's base path (`/api/v10`, `/v1`) and query string. */
  path: string;
  /** Query parameters, if not in `path`. */
  query?: Record<string, string> | URLSearchParams;
  /** The parsed JSON body, or the parsed `payload_json` part of a multipart body; undefined when none. */
  body?: unknown;
  /** `application/json` (the default) or `multipart/form-data`. */
  contentType?: string;
}

/** Every way the request breaks the spec, each as one readable sentence; empty when it conforms. */
export function checkRequest(spec: ApiSpec, method: string, path: string, body?: unknown): string[] {
  return requestViolations(spec, { method, path, body }).map(describeViolation);
}

export function describeViolation(v: Violation): string {
  const where = v.in === "operation" ? "" : ` ${v.in}${formatPath(v.at)}`;
  return `${v.operation}:${where} ${v.message}`;
}

/** `a.b[0].c`, as both APIs name fields in their error messages. */
export function formatPath(at: (string | number)[]): string {
  return at.map((part) => (typeof part === "number" ? `[${part}]` : `.${part}`)).join("");
}

/**
 * Loads the spec and compiles the validators of these operations (method and concrete path) now, so the
 * first request that reaches one is not slowed by it: a fake calls this before it starts listening.
 */
export function warmUp(spec: ApiSpec, operations: [method: string, path: string][]): void {
  const specification = loaded(spec);
  for (const [method, path] of operations) specification.prepare(method, path);
}

/** The operation a method and concrete path reach, if the spec has one. */
export function findOperation(spec: ApiSpec, method: string, path: string): string | undefined {
  const match = loaded(spec).match(method, path);
  return match ? `${match.op.method} ${match.op.template}` : undefined;
}

export function requestViolations(spec: ApiSpec, request: RequestToCheck): Violation[] {
  return loaded(spec).check(request);
}

// ---------------------------------------------------------------------------------------------------------
// Loading and rewriting a spec
// ---------------------------------------------------------------------------------------------------------

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Keywords whose value is a map of names to schemas, a single schema, or a list of schemas. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);
const SCHEMA_VALUES = new Set([
  "items",
  "additionalItems",
  "additionalProperties",
  "unevaluatedItems",
  "unevaluatedProperties",
  "propertyNames",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "contentSchema",
]);
const SCHEMA_LISTS = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);
/** OpenAPI's own additions to a schema: hints for code generators and documentation, not constraints. */
const OPENAPI_ONLY = new Set(["discriminator", "example", "xml", "externalDocs"]);
/** Keywords that only describe; a schema made only of these (and `nullable`) constrains nothing. */
const ANNOTATIONS = new Set([
  "title",
  "description",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly",
  "examples",
]);

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** A `{nullable: true}` (plus annotations) member of an allOf: OpenAPI 3.0's way to make a $ref nullable. */
function isBareNullable(node: unknown): boolean {
  if (!isNode(node) || node.nullable !== true) return false;
  return Object.keys(node).every((key) => key === "nullable" || ANNOTATIONS.has(key) || key.startsWith("x-"));
}

/** Where the walk is in the document, as JSON pointer segments; joined only when a pointer is needed. */
type Trail = string[];

const pointerOf = (trail: Trail) => trail.map((segment) => `/${escapePointer(segment)}`).join("");

/**
 * One schema rewritten, in place, into plain JSON Schema 2020-12, children included; returns what takes
 * its place (a new node only when `nullable` wraps it). `anchor` is the pointer of the nearest enclosing
 * `$recursiveAnchor`.
 */
function rewriteSchema(schema: unknown, trail: Trail, id: string, anchor?: string): unknown {
  if (!isNode(schema)) return schema;
  const here = schema.$recursiveAnchor === true ? pointerOf(trail) : anchor;
  let nullable = schema.nullable === true;
  const child = (key: string | number, value: unknown) => {
    trail.push(String(key));
    const rewritten = rewriteSchema(value, trail, id, here);
    trail.pop();
    return rewritten;
  };
  for (const key of Object.keys(schema)) {
    const value = schema[key];
    if (key.startsWith("x-") || OPENAPI_ONLY.has(key) || key === "nullable" || key === "$recursiveAnchor") {
      delete schema[key];
    } else if (key === "$recursiveRef") {
      // Only ever "#" here: the schema carrying $recursiveAnchor, which nothing extends dynamically.
      delete schema[key];
      schema.$ref = here ? `${id}#${fragment(here)}` : value;
    } else if (key === "$ref" && typeof value === "string" && value.startsWith("#")) {
      // Absolute, so that any schema of the document can be compiled on its own.
      schema.$ref = `${id}${value}`;
    } else if (SCHEMA_MAPS.has(key) && isNode(value)) {
      trail.push(key);
      for (const name of Object.keys(value)) value[name] = child(name, value[name]);
      trail.pop();
    } else if (SCHEMA_VALUES.has(key)) {
      schema[key] = child(key, value);
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      let members = value;
      if (key === "allOf" && members.some(isBareNullable)) {
        nullable = true;
        members = members.filter((member) => !isBareNullable(member));
      }
      trail.push(key);
      schema[key] = members.map((member, i) => child(i, member));
      trail.pop();
      if (members.length === 0) delete schema[key];
    }
  }
  // OpenAPI 3.0: a boolean exclusiveMinimum/Maximum turns minimum/maximum exclusive.
  for (const [exclusive, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof schema[exclusive] !== "boolean") continue;
    if (schema[exclusive] === true && typeof schema[bound] === "number") {
      schema[exclusive] = schema[bound];
      delete schema[bound];
    } else {
      delete schema[exclusive];
    }
  }
  return nullable ? withNull(schema) : schema;
}

/** OpenAPI 3.0's `nullable: true`: null is allowed besides whatever the schema allows. */
function withNull(schema: Node): Node {
  if (typeof schema.type === "string" || Array.isArray(schema.type)) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.includes("null")) schema.type = [...types, "null"];
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
    return schema;
  }
  return { anyOf: [schema, { type: "null" }] };
}

/** Every schema in the document rewritten in place; examples and extensions outside schemas are left. */
function rewriteDocument(node: unknown, trail: Trail, id: string): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => {
      trail.push(String(i));
      rewriteDocument(child, trail, id);
      trail.pop();
    });
    return;
  }
  if (!isNode(node)) return;
  const inComponents = trail.length === 1 && trail[0] === "components";
  for (const key of Object.keys(node)) {
    if (key === "example" || key === "examples" || key.startsWith("x-")) continue;
    const value = node[key];
    trail.push(key);
    if (key === "schema") node[key] = rewriteSchema(value, trail, id);
    else if (key === "schemas" && inComponents && isNode(value)) {
      for (const name of Object.keys(value)) {
        trail.push(name);
        value[name] = rewriteSchema(value[name], trail, id);
        trail.pop();
      }
    } else rewriteDocument(value, trail, id);
    trail.pop();
  }
}

/** The `$id` a spec is known by inside Ajv. */
function specId(spec: ApiSpec): string {
  return `${spec}-openapi.json`;
}

function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** A JSON pointer as a URI fragment (Ajv decodes it again). */
function fragment(pointer: string): string {
  return pointer
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}

// ---------------------------------------------------------------------------------------------------------
// Operations and their validators
// ---------------------------------------------------------------------------------------------------------

interface Parameter {
  name: string;
  in: string;
  required: boolean;
  /** Pointer to its schema in the document. */
  schemaPointer: string;
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Literal characters in the template: the most literal template wins when several match. */
  literal: number;
  names: string[];
  pointer: string;
  node: Node;
  parameters: Parameter[];
}

interface Compiled {
  body: Map<string, ValidateFunction | null>;
  path?: ValidateFunction;
  query?: ValidateFunction;
}

class LoadedSpec {
  private readonly ajv: Ajv2020;
  /** Parameters arrive as text: this instance coerces them to the types their schemas name. */
  private paramsAjvInstance?: Ajv2020;
  private readonly operations: Operation[] = [];
  private readonly compiled = new Map<Operation, Compiled>();
  private readonly basePath: string;

  constructor(
    private readonly name: ApiSpec,
    private readonly doc: Node,
  ) {
    const servers = Array.isArray(doc.servers) ? doc.servers : [];
    const url = isNode(servers[0]) && typeof servers[0].url === "string" ? servers[0].url : "/";
    this.basePath = new URL(url, "http://spec.invalid").pathname.replace(/\/$/, "");
    this.ajv = this.newAjv(false);
    this.indexOperations();
  }

  private get paramsAjv(): Ajv2020 {
    this.paramsAjvInstance ??= this.newAjv(true);
    return this.paramsAjvInstance;
  }

  private newAjv(coerceTypes: boolean): Ajv2020 {
    const ajv = new Ajv2020({
      strict: false,
      allErrors: true,
      // Errors carry their schema and value, so a failed anyOf/oneOf can be explained branch by branch.
      verbose: true,
      validateSchema: false,
      coerceTypes,
      // The specs' own formats beyond ajv-formats': timestamps, Discord's nonces and ids.
      formats: { unixtime: true, nonce: true, snowflake: true },
    });
    addFormats(ajv);
    ajv.addSchema(this.doc, this.id);
    return ajv;
  }

  private get id(): string {
    return specId(this.name);
  }

  private indexOperations(): void {
    const paths = isNode(this.doc.paths) ? this.doc.paths : {};
    for (const [template, item] of Object.entries(paths)) {
      if (!isNode(item)) continue;
      const itemPointer = `/paths/${escapePointer(template)}`;
      const shared = this.parameters(item.parameters, `${itemPointer}/parameters`);
      for (const method of METHODS) {
        const node = item[method];
        if (!isNode(node)) continue;
        const pointer = `${itemPointer}/${method}`;
        const own = this.parameters(node.parameters, `${pointer}/parameters`);
        const parameters = [
          ...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)),
          ...own,
        ];
        const names: string[] = [];
        const source = template
          .split(/(\{[^}]+\})/)
          .map((part) => {
            const param = /^\{([^}]+)\}$/.exec(part);
            if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
            names.push(param[1]!);
            return "([^/]+)";
          })
          .join("");
        this.operations.push({
          method: method.toUpperCase(),
          template,
          pattern: new RegExp(`^${source}$`),
          literal: template.replace(/\{[^}]+\}/g, "").length,
          names,
          pointer,
          node,
          parameters,
        });
      }
    }
  }

  private parameters(list: unknown, pointer: string): Parameter[] {
    if (!Array.isArray(list)) return [];
    return list.flatMap((entry, i) => {
      let node = entry;
      let at = `${pointer}/${i}`;
      // A parameter may be a $ref to components/parameters.
      while (isNode(node) && typeof node.$ref === "string" && node.$ref.startsWith("#/")) {
        at = node.$ref.slice(1);
        node = this.resolve(at);
      }
      if (!isNode(node) || typeof node.name !== "string" || typeof node.in !== "string") return [];
      return [
        { name: node.name, in: node.in, required: node.required === true, schemaPointer: `${at}/schema` },
      ];
    });
  }

  private resolve(pointer: string): unknown {
    let node: unknown = this.doc;
    for (const raw of pointer.split("/").slice(1)) {
      const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
      node = isNode(node) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined;
    }
    return node;
  }

  match(method: string, path: string): { op: Operation; params: Record<string, string> } | undefined {
    const bare = path.startsWith(`${this.basePath}/`) ? path.slice(this.basePath.length) : path;
    let best: { op: Operation; params: Record<string, string> } | undefined;
    for (const op of this.operations) {
      if (op.method !== method.toUpperCase()) continue;
      const m = op.pattern.exec(bare);
      if (!m || (best && best.op.literal >= op.literal)) continue;
      best = {
        op,
        params: Object.fromEntries(op.names.map((name, i) => [name, safeDecode(m[i + 1] ?? "")])),
      };
    }
    return best;
  }

  prepare(method: string, path: string): void {
    const found = this.match(method, path);
    if (!found) throw new Error(`${method} ${path} is not an operation of the ${this.name} specification`);
    const compiled = this.compiledFor(found.op);
    const body = this.requestBody(found.op);
    if (body && isNode(body.content) && "application/json" in body.content)
      this.bodyValidator(found.op, compiled, "application/json");
  }

  check(request: RequestToCheck): Violation[] {
    const [rawPath = "", search = ""] = request.path.split("?", 2);
    const method = request.method.toUpperCase();
    const found = this.match(method, rawPath);
    if (!found) {
      return [
        {
          operation: `${method} ${rawPath}`,
          in: "operation",
          at: [],
          keyword: "operation",
          message: `is not an operation of ${this.name === "discord" ? "Discord's" : "OpenAI's"} API specification`,
          params: {},
        },
      ];
    }
    const { op, params } = found;
    const operation = `${op.method} ${op.template}`;
    const query = Object.fromEntries(
      request.query instanceof URLSearchParams
        ? request.query
        : Object.entries(request.query ?? Object.fromEntries(new URLSearchParams(search))),
    );
    const compiled = this.compiledFor(op);
    const violations: Violation[] = [];
    const run = (
      ajv: Ajv2020,
      validate: ValidateFunction | undefined,
      data: unknown,
      where: Violation["in"],
    ) => {
      if (!validate || validate(data)) return;
      violations.push(...toViolations(ajv, validate.errors ?? [], operation, where));
    };
    if (compiled.path) run(this.paramsAjv, compiled.path, params, "path");
    if (compiled.query) run(this.paramsAjv, compiled.query, query, "query");
    else violations.push(...Object.keys(query).map((name) => unknownQueryParameter(operation, name)));
    violations.push(...this.checkBody(op, operation, compiled, request));
    return violations;
  }

  private checkBody(
    op: Operation,
    operation: string,
    compiled: Compiled,
    request: RequestToCheck,
  ): Violation[] {
    const requestBody = this.requestBody(op);
    const contentType = (request.contentType ?? "application/json").split(";")[0]!.trim().toLowerCase();
    const problem = (keyword: string, message: string): Violation[] => [
      { operation, in: "body", at: [], keyword, message, params: {} },
    ];
    if (!requestBody)
      return request.body === undefined ? [] : problem("body", "is sent, but the operation takes none");
    const content = isNode(requestBody.content) ? requestBody.content : {};
    if (request.body === undefined) {
      return requestBody.required === true && contentType !== "multipart/form-data"
        ? problem("required", "is required")
        : [];
    }
    if (!(contentType in content)) return problem("contentType", `cannot be sent as ${contentType}`);
    // A multipart body's JSON travels in its payload_json part, which follows the JSON body's schema.
    const media =
      contentType === "multipart/form-data" && "application/json" in content
        ? "application/json"
        : contentType;
    const validate = this.bodyValidator(op, compiled, media);
    if (!validate || validate(request.body)) return [];
    return toViolations(this.ajv, validate.errors ?? [], operation, "body");
  }

  private requestBody(op: Operation): Node | undefined {
    let node = op.node.requestBody;
    while (isNode(node) && typeof node.$ref === "string") node = this.resolve(node.$ref.slice(1));
    return isNode(node) ? node : undefined;
  }

  private bodyValidator(op: Operation, compiled: Compiled, media: string): ValidateFunction | null {
    if (!compiled.body.has(media)) {
      const pointer = `${op.pointer}/requestBody/content/${escapePointer(media)}/schema`;
      const exists = this.resolve(pointer) !== undefined;
      compiled.body.set(media, exists ? this.ajv.compile({ $ref: `${this.id}#${fragment(pointer)}` }) : null);
    }
    return compiled.body.get(media) ?? null;
  }

  private compiledFor(op: Operation): Compiled {
    let compiled = this.compiled.get(op);
    if (!compiled) {
      compiled = {
        body: new Map(),
        path: this.paramsValidator(op.parameters.filter((p) => p.in === "path")),
        query: this.paramsValidator(
          op.parameters.filter((p) => p.in === "query"),
          true,
        ),
      };
      this.compiled.set(op, compiled);
    }
    return compiled;
  }

  private paramsValidator(parameters: Parameter[], closed = false): ValidateFunction | undefined {
    if (parameters.length === 0) return undefined;
    const properties = Object.fromEntries(
      parameters.map((p) => [
        p.name,
        this.resolve(p.schemaPointer) === undefined
          ? {}
          : { $ref: `${this.id}#${fragment(p.schemaPointer)}` },
      ]),
    );
    return this.paramsAjv.compile({
      type: "object",
      properties,
      required: parameters.filter((p) => p.required).map((p) => p.name),
      // Discord and OpenAI ignore query parameters they do not know; a client sending one has a bug.
      ...(closed && { additionalProperties: false }),
    });
  }
}

function unknownQueryParameter(operation: string, name: string): Violation {
  return {
    operation,
    in: "query",
    at: [name],
    keyword: "additionalProperties",
    message: UNKNOWN_QUERY_PARAMETER,
    params: { additionalProperty: name },
  };
}

const UNKNOWN_QUERY_PARAMETER = "is not a query parameter of this operation";

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Ajv's errors as violations
// ---------------------------------------------------------------------------------------------------------

/** One problem, `at` a location inside the checked value. */
interface Issue {
  at: (string | number)[];
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}

function instanceParts(instancePath: string): (string | number)[] {
  if (instancePath === "") return [];
  return instancePath
    .split("/")
    .slice(1)
    .map((raw) => {
      const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
      return /^\d+$/.test(part) ? Number(part) : part;
    });
}

/** True when `path` is `base` or lies inside it (both Ajv instance paths). */
function within(path: string, base: string): boolean {
  return path === base || path.startsWith(`${base}/`);
}

const branchValidators = new WeakMap<Ajv2020, WeakMap<object, ValidateFunction>>();

function branchValidator(ajv: Ajv2020, schema: object): ValidateFunction {
  let cache = branchValidators.get(ajv);
  if (!cache) {
    cache = new WeakMap();
    branchValidators.set(ajv, cache);
  }
  let validate = cache.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    cache.set(schema, validate);
  }
  return validate;
}

/**
 * Ajv's errors as issues a reader can act on. Ajv reports every branch of a failed anyOf/oneOf (every
 * component type a component is not, every message role a message does not have); instead each branch
 * is checked again on its own, and only the branch meant is reported: one whose fixed fields (a `type`
 * or `role` with a single allowed value) and JSON type the value matches, the one with fewest problems
 * if several do. When the value fits no branch at all, what the branches would accept is summed up
 * ("must be number or null", "must be one of [...]").
 */
function explain(ajv: Ajv2020, errors: ErrorObject[]): Issue[] {
  const out: { path: string; issue: Issue }[] = [];
  for (const error of errors) {
    const combinator = error.keyword === "anyOf" || error.keyword === "oneOf";
    if (!combinator || error.params.passingSchemas) {
      out.push({ path: error.instancePath, issue: toIssue(error) });
      continue;
    }
    // Ajv pushed the branches' errors just before the combinator's own: they give way to the explanation.
    while (out.length > 0 && within(out.at(-1)!.path, error.instancePath)) out.pop();
    const base = instanceParts(error.instancePath);
    for (const issue of explainBranches(ajv, error)) {
      const at = [...base, ...issue.at];
      out.push({ path: error.instancePath, issue: { ...issue, at } });
    }
  }
  return out.map((entry) => entry.issue);
}

function explainBranches(ajv: Ajv2020, error: ErrorObject): Issue[] {
  const branches = Array.isArray(error.schema) ? error.schema : [];
  const results = branches.map((branch): Issue[] => {
    if (!isNode(branch)) return branch === false ? [issue([], "false", "is not allowed here")] : [];
    const validate = branchValidator(ajv, branch);
    return validate(error.data) ? [] : explain(ajv, validate.errors ?? []);
  });
  const fitting = results.filter((issues) => !issues.some(isKindMismatch));
  if (fitting.length > 0)
    return fitting.reduce((best, issues) => (issues.length < best.length ? issues : best));
  // No branch fits. Those that accept the value's JSON type and only reject a fixed field come closest.
  const closest = results.filter((issues) => !issues.some((i) => isKindMismatch(i) && i.at.length === 0));
  const mismatches = (closest.length > 0 ? closest : results).flat().filter(isKindMismatch);
  const byPath = new Map<string, { at: (string | number)[]; types: Set<string>; values: unknown[] }>();
  for (const m of mismatches) {
    const key = JSON.stringify(m.at);
    const entry = byPath.get(key) ?? { at: m.at, types: new Set<string>(), values: [] };
    if (m.keyword === "type") for (const t of asList(m.params.type)) entry.types.add(String(t));
    else
      for (const v of allowedValues(m))
        if (!entry.values.some((w) => JSON.stringify(w) === JSON.stringify(v))) entry.values.push(v);
    byPath.set(key, entry);
  }
  const summed = [...byPath.values()].map(({ at, types, values }) => {
    if (values.length === 0)
      return issue(at, "type", `must be ${[...types].join(" or ")}`, { type: [...types] });
    // A branch that is only `{type: "null"}` adds null to the values the others allow.
    if ([...types].every((t) => t === "null")) {
      const allowed = types.size > 0 ? [...values, null] : values;
      return issue(at, "enum", `must be one of ${JSON.stringify(allowed)}`, { allowedValues: allowed });
    }
    const message = `must be ${[...types].join(" or ")} or one of ${JSON.stringify(values)}`;
    return issue(at, "type", message, { type: [...types], allowedValues: values });
  });
  if (summed.length > 0) return summed;
  return [issue([], error.keyword, "matches none of the shapes the spec allows here")];
}

/** A branch that rejects the value's JSON type or one of its fixed fields is not the branch meant. */
function isKindMismatch(i: Issue): boolean {
  if (i.at.length === 0) return i.keyword === "type" || i.keyword === "enum" || i.keyword === "const";
  return i.at.length === 1 && (i.keyword === "enum" || i.keyword === "const");
}

function allowedValues(i: Issue): unknown[] {
  if (i.keyword === "const") return [i.params.allowedValue];
  return asList(i.params.allowedValues);
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === "string" && value.includes(",")) return value.split(",");
  return [value];
}

function issue(
  at: (string | number)[],
  keyword: string,
  message: string,
  params: Record<string, unknown> = {},
): Issue {
  return { at, keyword, message, params };
}

function toIssue(error: ErrorObject): Issue {
  const at = instanceParts(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return issue([...at, String(params.missingProperty)], "required", "is required", params);
    case "additionalProperties":
      return issue(
        [...at, String(params.additionalProperty)],
        "additionalProperties",
        "is not known here",
        params,
      );
    case "type":
      return issue(at, "type", `must be ${asList(params.type).join(" or ")}`, params);
    case "enum":
      return issue(at, "enum", `must be one of ${JSON.stringify(params.allowedValues)}`, params);
    case "const":
      return issue(at, "const", `must be ${JSON.stringify(params.allowedValue)}`, params);
    case "oneOf":
      return issue(at, "oneOf", "matches more than one of the shapes the spec allows here", params);
    default:
      return issue(at, error.keyword, error.message ?? `fails ${error.keyword}`, params);
  }
}

function toViolations(
  ajv: Ajv2020,
  errors: ErrorObject[],
  operation: string,
  where: Violation["in"],
): Violation[] {
  const seen = new Set<string>();
  const out: Violation[] = [];
  for (const i of explain(ajv, errors)) {
    const key = `${formatPath(i.at)} ${i.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const message =
      where === "query" && i.keyword === "additionalProperties" ? UNKNOWN_QUERY_PARAMETER : i.message;
    out.push({ operation, in: where, ...i, message });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// One copy of each spec per process
// ---------------------------------------------------------------------------------------------------------

const specs = new Map<ApiSpec, LoadedSpec>();

function loaded(spec: ApiSpec): LoadedSpec {
  let found = specs.get(spec);
  if (!found) {
    const file = SPEC_FILES[spec];
    let raw: string;
    try {
      raw = readFileSync(file, "utf8");
    } catch (error) {
      throw new Error(
        `The ${spec} API specification is missing at ${file}: tests validate requests against it`,
        {
          cause: error,
        },
      );
    }
    const doc = JSON.parse(raw) as Node;
    rewriteDocument(doc, [], specId(spec));
    found = new LoadedSpec(spec, doc);
    specs.set(spec, found);
  }
  return found;
}
