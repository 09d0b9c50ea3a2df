/**
 * The little JSON Schema kit the structured settings (PROXY_CLIENTS, SUITECRM_CREDENTIALS) share:
 * schema builders, one Ajv compile, and one rule for turning Ajv's first error into a message that
 * names the entry, the field path and the rule it breaks (never the value: it may be a secret).
 *
 * Written out rather than taken from TypeBox: importing TypeBox costs the process about 14 MiB of
 * memory (measured with process.memoryUsage), for what is a dozen lines of plain objects.
 * Ajv is loaded, and each schema compiled, the first time a value is validated: a proxy
 * without PROXY_CLIENTS or SUITECRM_CREDENTIALS never loads it (bench/README.md, start-up).
 */
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';

export interface Schema {
  readonly [keyword: string]: unknown;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly items?: Schema;
}

export const Type = {
  String: (options: object = {}): Schema => ({ type: 'string', ...options }),
  Number: (options: object = {}): Schema => ({ type: 'number', ...options }),
  Integer: (options: object = {}): Schema => ({ type: 'integer', ...options }),
  Array: (items: Schema, options: object = {}): Schema => ({ type: 'array', items, ...options }),
  /** Fields wrapped in Optional are not required. */
  Optional: (schema: Schema): Schema & { optional: true } => ({ ...schema, optional: true }),
  Object: (properties: Record<string, Schema>, options: object = {}): Schema & { properties: Record<string, Schema> } => {
    const required = Object.entries(properties).filter(([, schema]) => schema.optional !== true).map(([name]) => name);
    const plain = Object.fromEntries(Object.entries(properties).map(([name, { optional: _, ...schema }]) => [name, schema]));
    return { type: 'object', properties: plain, ...(required.length > 0 ? { required } : {}), ...options };
  },
};

/** The sentence a broken field gets, stated on its schema (or on the array holding it). */
export const rule = (text: string): { 'x-rule': string } => ({ 'x-rule': text });
export const filePath = (): Schema => Type.String({ minLength: 1, ...rule('must be a file path') });

let ajv: Ajv | undefined;
const requireHere = createRequire(import.meta.url);

/** Synchronous (Ajv is CommonJS): the configuration, at start-up and on reloads, is read synchronously. */
function sharedAjv(): Ajv {
  if (ajv === undefined) {
    const { Ajv: AjvClass } = requireHere('ajv') as typeof import('ajv');
    // No meta-schemas: the schemas are ours and fixed (their tests would catch a malformed one), and they cost memory.
    ajv = new AjvClass({ allErrors: false, strict: false, meta: false, validateSchema: false });
  }
  return ajv;
}

/** Stands in for the error Ajv always gives with a failed validation. */
const UNNAMED_ERROR: ErrorObject = { keyword: '', instancePath: '', schemaPath: '', params: {}, message: 'is not valid' };

/** A validator for `schema`, compiled on first use: it returns Ajv's first error, or undefined when `value` is valid. */
export function compileSchema(schema: Schema): (value: unknown) => ErrorObject | undefined {
  let validate: ValidateFunction | undefined;
  return (value) => {
    validate ??= sharedAjv().compile(schema);
    return validate(value) ? undefined : (validate.errors?.[0] ?? UNNAMED_ERROR);
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `.allow[0].methods` for the instance path `/allow/0/methods`. */
function fieldPath(segments: readonly string[]): string {
  return segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
}

/** The innermost schema on the path that states a rule, with the path up to it. */
function ruleFor(root: Schema, segments: readonly string[]): { path: string; text: string } | undefined {
  let schema: Schema | undefined = root;
  let found: { path: string; text: string } | undefined;
  for (let i = 0; i <= segments.length && schema !== undefined; i++) {
    const text = (schema as { 'x-rule'?: string })['x-rule'];
    if (text !== undefined) found = { path: fieldPath(segments.slice(0, i)), text };
    const segment = segments[i];
    if (segment === undefined) break;
    schema = /^\d+$/.test(segment) ? schema.items : schema.properties?.[segment];
  }
  return found;
}

/** Ajv's first error as `<at>.<field> <rule>`; an unknown top-level field lists the known ones. */
export function schemaMessage(root: Schema, at: string, error: ErrorObject): string {
  const segments = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'additionalProperties' && segments.length === 0) {
    const name = String((error.params as { additionalProperty: string }).additionalProperty);
    return `${at}: unknown field ${JSON.stringify(name)} (known: ${Object.keys(root.properties ?? {}).join(', ')})`;
  }
  if (error.keyword === 'required') segments.push(String((error.params as { missingProperty: string }).missingProperty));
  const found = ruleFor(root, segments);
  return found === undefined ? `${at}${fieldPath(segments)} ${error.message ?? 'is not valid'}` : `${at}${found.path} ${found.text}`;
}

/**
 * JSON.parse for a setting that may hold secrets: JSON.parse messages can quote the input, so a
 * syntax error is reported by its position only, through `fail` (the setting's own error type).
 */
export function parseSecretJson(text: string, fail: (message: string) => Error): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw fail(`is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`);
  }
}
