/**
 * Fastify loads Ajv (@fastify/ajv-compiler with ajv-formats) and fast-json-stringify's compiler
 * when an instance is created, for routes with a JSON schema. No route of the proxy has one, so
 * here they are loaded the first time a route needs them instead, through Fastify's own option
 * for it (`schemaController.compilersFactory`): about 100 modules and 20 ms less at start-up
 * (bench/README.md). They are the packages Fastify itself would load, resolved from its location.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;

const requireFromFastify = createRequire(import.meta.resolve('fastify'));
let buildValidator: BuildValidator | undefined;
let buildSerializer: BuildSerializer | undefined;

export const lazySchemaCompilers: CompilersFactory = {
  buildValidator: (externalSchemas, options) => {
    // One selector per process, as Fastify keeps one: it pools the compilers it builds.
    buildValidator ??= (requireFromFastify('@fastify/ajv-compiler') as () => BuildValidator)();
    return buildValidator(externalSchemas, options);
  },
  buildSerializer: (externalSchemas, options) => {
    buildSerializer ??= (requireFromFastify('@fastify/fast-json-stringify-compiler') as () => BuildSerializer)();
    return buildSerializer(externalSchemas, options);
  },
};
