/**
 * The baseline the issue names: a bare Fastify 5 + @fastify/http-proxy that adds a static
 * Bearer header and nothing else (no token manager, no logging, default options).
 *
 *   node dist/bench/bare-proxy.js --upstream http://127.0.0.1:PORT --port PORT --authorization 'Bearer ...'
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
    authorization: { type: 'string', default: 'Bearer bench-static-token' },
  },
});
if (args.upstream === undefined) throw new Error('--upstream is required');
const authorization = args.authorization;

const app = Fastify();
await app.register(proxy, {
  upstream: args.upstream,
  replyOptions: {
    rewriteRequestHeaders: (_request, headers) => ({ ...headers, authorization }),
  },
});
await app.listen({ host: '127.0.0.1', port: Number(args.port) });
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)); });
