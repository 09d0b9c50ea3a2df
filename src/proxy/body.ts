/**
 * Request bodies are never parsed. A body up to REPLAY_BODY_LIMIT_BYTES is collected into a
 * Buffer, so a request SuiteCRM rejects with 401 can be replayed byte for byte; a larger one
 * (by Content-Length, or once a chunked body grows past the limit) streams straight through.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export type ProxyBody = Buffer | Readable | undefined;

/** Streams a body whose first chunks were already read. */
function resumeAsStream(head: Buffer[], rest: Readable): Readable {
  const stream = new PassThrough();
  for (const chunk of head) stream.write(chunk);
  rest.on('error', (err) => stream.destroy(err));
  rest.pipe(stream);
  return stream;
}

export function collectBody(payload: Readable, limit: number, contentLength: number | undefined, done: (err: Error | null, body?: ProxyBody) => void): void {
  if (contentLength !== undefined && contentLength > limit) {
    done(null, payload);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const cleanup = (): void => {
    payload.off('data', onData);
    payload.off('end', onEnd);
    payload.off('error', onError);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    chunks.push(chunk);
    if (size > limit) {
      // Too large to keep for a replay: hand over what we have plus the rest as one stream.
      finished = true;
      cleanup();
      payload.pause();
      done(null, resumeAsStream(chunks, payload));
    }
  };
  const onEnd = (): void => {
    if (finished) return;
    finished = true;
    cleanup();
    done(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  };
  const onError = (err: Error): void => {
    if (finished) return;
    finished = true;
    cleanup();
    done(err);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
}

/** Replaces Fastify's parsers: every content type is accepted and left as bytes. */
export function registerPassThroughBodies(app: FastifyInstance, replayLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request: FastifyRequest, payload, done) => {
    const header = request.headers['content-length'];
    const length = header === undefined ? undefined : Number(header);
    collectBody(payload, replayLimit, Number.isFinite(length) ? length : undefined, done);
  });
}
