/**
 * HTTP server settings that protect the listener itself, before Fastify sees a request:
 * header size, header and request timeouts (slowloris), and JSON:API answers for what Node's
 * parser refuses (malformed framing, conflicting Content-Length / Transfer-Encoding, oversized
 * headers, timeouts) instead of Fastify's default plain JSON.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Server, ServerResponse } from 'node:http';
import type { FastifyError, FastifyHttpOptions, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyError, type ErrorCode } from '../errors.js';
import { refusedConnection } from './refused-connection.js';
import type { SecurityConfig } from '../config/security-settings.js';

/** How often Node checks for header/request timeouts: often enough for short timeouts, at most every 5 s. */
export function connectionsCheckingInterval(config: SecurityConfig): number {
  return Math.max(100, Math.min(5_000, Math.floor(config.headersTimeoutMs / 4)));
}

/** Node/llhttp parse error codes we name in the detail, so a caller can tell what was wrong. */
const PARSE_ERROR_DETAILS: Record<string, string> = {
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding conflict, or Content-Length is repeated',
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is invalid or repeated',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding is invalid or conflicts with Content-Length (only chunked, last, is accepted)',
  HPE_INVALID_HEADER_TOKEN: 'a header name or value contains an invalid character',
  HPE_INVALID_METHOD: 'the method is not a known HTTP method',
  HPE_INVALID_URL: 'the request target contains invalid characters',
  HPE_INVALID_VERSION: 'the HTTP version is not supported',
  HPE_LF_EXPECTED: 'the request framing is malformed (bare CR or LF)',
  HPE_CR_EXPECTED: 'the request framing is malformed (bare CR or LF)',
  HPE_INVALID_CHUNK_SIZE: 'a chunk size is invalid',
};

export function clientErrorResponse(code: string | undefined): ProxyError {
  let errorCode: ErrorCode = 'BAD_REQUEST';
  let detail = (code !== undefined ? PARSE_ERROR_DETAILS[code] : undefined) ?? 'the request could not be parsed as HTTP/1.1';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    errorCode = 'REQUEST_TIMEOUT';
    detail = 'the request was not received in time (PROXY_HEADERS_TIMEOUT_SECONDS / PROXY_REQUEST_TIMEOUT_SECONDS)';
  } else if (code === 'HPE_HEADER_OVERFLOW') {
    errorCode = 'HEADERS_TOO_LARGE';
    detail = 'the request line and headers are larger than PROXY_MAX_HEADER_BYTES';
  }
  return new ProxyError(errorCode, detail);
}

/** Writes a JSON:API error straight to a socket and closes it (for requests Fastify never sees). */
export function writeSocketError(socket: Socket, error: ProxyError): void {
  if (socket.writable) {
    const body = error.toJsonApi();
    const headers = Object.entries({ ...error.headers(), 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
      .map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n${headers}\r\n${body}`);
  }
  socket.destroy();
}

/** The response Node is writing on this socket, if any (Node's own clientError default reads the same field). */
function pendingResponse(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/** Connections closing after their earlier requests' answers: further parse errors on them change nothing. */
const closingAfterAnswers = new WeakSet<Socket>();

/**
 * A parse error never replaces the answer to a request that arrived whole before the bad bytes
 * (pipelining): SuiteCRM may have executed it, and a caller told "malformed" would send it again.
 * Such requests are answered first (the last one with Connection: close), then the 400 follows
 * if the connection is still open, and it closes. A request whose own bytes are broken is
 * refused at once, unless its answer has begun: then the connection just closes.
 */
function refuseAfterAnswers(socket: Socket, error: ProxyError): void {
  const pending = pendingResponse(socket);
  if (pending === undefined || !pending.req.complete) {
    // Requests on it that are still unanswered end with this status in the log, not as callers gone (499).
    refusedConnection(socket, error.status);
    if (pending?.headersSent) socket.destroy();
    else writeSocketError(socket, error);
    return;
  }
  closingAfterAnswers.add(socket);
  if (!pending.headersSent) pending.setHeader('connection', 'close');
  pending.once('close', () => refuseAfterAnswers(socket, error));
}

function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || closingAfterAnswers.has(socket)) return;
  const error = clientErrorResponse(err.code);
  this.log.info({ event: 'client_error', code: err.code, status: error.status, remoteAddress: socket.remoteAddress }, 'refused a request Node could not parse');
  refuseAfterAnswers(socket, error);
}

/** Fastify's router errors (e.g. a URL it cannot decode) as JSON:API 400s. */
function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const error = new ProxyError('BAD_REQUEST', err.code === 'FST_ERR_BAD_URL' ? 'the request target is not a valid URL' : 'the request could not be routed');
  reply.code(error.status).headers(error.headers()).send(error.toJsonApi());
}

export function serverOptions(config: SecurityConfig): Partial<FastifyHttpOptions<Server>> {
  return {
    requestTimeout: config.requestTimeoutMs,
    http: {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingInterval(config),
      // Checked in the security plugin instead, so the 400 is a JSON:API document like every other.
      requireHostHeader: false,
    },
    clientErrorHandler,
    frameworkErrors,
  };
}
