/**
 * The request function @fastify/reply-from calls to reach SuiteCRM. Its `undici` option takes
 * any object with `request(opts, callback)`; this one is `dispatch()` on the SuiteCRM dispatcher
 * (pool + interceptors) with one small handler per request, instead of undici's `request()`,
 * which adds per request an AsyncResource, a handler-API adapter, a Readable for the body and,
 * to send the answer in one write, a promise and a copy of the bytes (`body.bytes()`).
 *
 * An answer up to COLLECT_LIMIT_BYTES by Content-Length comes back once it is complete, as the
 * chunks undici parsed (one chunk, the usual case, is handed over as it is: no copy), so the
 * proxy writes status, headers and body at once. Anything else (larger, no length, HEAD, 204,
 * 304) comes back at its headers with a Readable that streams it with backpressure; destroying
 * that stream (the caller went away) aborts the upstream request.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/** Answers up to this size (by Content-Length) are collected and written at once; larger ones stream. */
export const COLLECT_LIMIT_BYTES = 64 * 1024;

type Headers = Record<string, string | string[] | undefined>;

/** A complete small answer; `destroy` because reply-from destroys the body of an aborted request. */
export class CollectedBody {
  constructor(readonly bytes: Buffer) {}

  destroy(): void {
    // Nothing left to release: the upstream exchange is over.
  }
}

/** What reply-from hands to the route's onResponse as `res.stream`. */
export type UpstreamBody = CollectedBody | Readable;

export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: Headers;
  readonly body: UpstreamBody;
}

type Callback = (err: Error | null, res?: UpstreamResponse) => void;

/** The options reply-from passes (its handleUndici); they are undici's DispatchOptions. */
export type UpstreamRequestOptions = Dispatcher.DispatchOptions;

/** A streamed answer: undici pauses while the caller's socket is full, and is aborted if the stream is destroyed first. */
class StreamedBody extends Readable {
  ended = false;

  constructor(private readonly controller: Dispatcher.DispatchController) {
    super();
  }

  override _read(): void {
    this.controller.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended) this.controller.abort(err ?? new Error('the answer was not read to its end'));
    callback(err);
  }
}

function collectable(method: string, statusCode: number, headers: Headers): boolean {
  const length = headers['content-length'];
  return typeof length === 'string' && Number(length) <= COLLECT_LIMIT_BYTES &&
    method !== 'HEAD' && statusCode !== 204 && statusCode !== 304;
}

class UpstreamResponseHandler implements Dispatcher.DispatchHandler {
  private statusCode = 0;
  private headers: Headers = {};
  /** Chunks of an answer being collected; undefined while streaming (or before the headers). */
  private chunks: Buffer[] | undefined;
  private stream: StreamedBody | undefined;
  /** The callback ran: reply-from has the answer (or its error). */
  private answered = false;

  constructor(private readonly method: string, private readonly callback: Callback) {}

  /** Present so undici takes this for a handler of its current API (it tells them apart by this method). */
  onRequestStart(): void {
    // Nothing to do before the answer.
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    this.statusCode = statusCode;
    this.headers = headers;
    if (collectable(this.method, statusCode, headers)) {
      this.chunks = [];
      return;
    }
    this.stream = new StreamedBody(controller);
    this.answer(this.stream);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.chunks !== undefined) this.chunks.push(chunk);
    else if (this.stream !== undefined && !this.stream.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.chunks !== undefined) {
      const chunks = this.chunks;
      this.answer(new CollectedBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    } else if (this.stream !== undefined) {
      this.stream.ended = true;
      this.stream.push(null);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.stream !== undefined) {
      this.stream.ended = true;
      this.stream.destroy(err);
    } else {
      this.fail(err);
    }
  }

  private answer(body: UpstreamBody): void {
    if (this.answered) return;
    this.answered = true;
    this.callback(null, { statusCode: this.statusCode, headers: this.headers, body });
  }

  private fail(err: Error): void {
    if (this.answered) return;
    this.answered = true;
    this.callback(err);
  }
}

/** The object to pass as @fastify/reply-from's (and @fastify/http-proxy's) `undici` option. */
export function upstreamRequester(dispatcher: Dispatcher): { request(opts: UpstreamRequestOptions, callback: Callback): void } {
  return {
    request(opts, callback) {
      try {
        dispatcher.dispatch(opts, new UpstreamResponseHandler(opts.method, callback));
      } catch (err) {
        callback(err as Error);
      }
    },
  };
}
