/**
 * A raw HTTP/1.1 client over node:net: sends exactly the bytes a test gives (hostile framing
 * included) and reads one response. Bounded: gives up after `timeoutMs` and reports status 0.
 */
import { connect } from 'node:net';

export interface RawResponse {
  /** 0 when no complete status line arrived before the socket closed or the timeout. */
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Whether the server closed the connection after answering. */
  readonly closed: boolean;
}

export interface RawOptions {
  readonly timeoutMs?: number;
  /** Pause between parts, to drip a request slowly. */
  readonly partDelayMs?: number;
  /** A HEAD request: the response has headers only, whatever Content-Length says. */
  readonly head?: boolean;
}

function parse(raw: Buffer, closed: boolean, head: boolean): RawResponse | undefined {
  let text = raw.toString('latin1');
  // Interim answers (100 Continue) precede the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.includes('\r\n\r\n')) {
    const skip = text.indexOf('\r\n\r\n') + 4;
    text = text.slice(skip);
    raw = raw.subarray(skip);
  }
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return closed ? { status: 0, headers: {}, body: text, closed } : undefined;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  if (head) return { status, headers, body: '', closed };
  const length = headers['content-length'];
  if (length !== undefined) {
    if (rest.length < Number(length)) return closed ? { status, headers, body: rest.toString('utf8'), closed } : undefined;
    return { status, headers, body: rest.subarray(0, Number(length)).toString('utf8'), closed };
  }
  if (headers['transfer-encoding'] === 'chunked') {
    if (!rest.toString('latin1').endsWith('0\r\n\r\n') && !closed) return undefined;
    return { status, headers, body: dechunk(rest.toString('latin1')), closed };
  }
  return closed ? { status, headers, body: rest.toString('utf8'), closed } : undefined;
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (let guard = 0; guard < 100_000 && at < text.length; guard++) {
    const lineEnd = text.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.from(out, 'latin1').toString('utf8');
}

/** Sends `parts` (strings are latin1 bytes) on a fresh connection and resolves with the first response. */
export function rawRequest(port: number, parts: string | readonly (string | Buffer)[], options: RawOptions = {}): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const list = typeof parts === 'string' ? [parts] : parts;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      const response = parse(Buffer.concat(chunks), closed, options.head === true);
      if (response === undefined) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      resolve({ status: 0, headers: {}, body: Buffer.concat(chunks).toString('latin1'), closed: false });
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    void (async () => {
      for (const part of list) {
        if (socket.destroyed || settled) return;
        socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part);
        if (options.partDelayMs) await new Promise((r) => setTimeout(r, options.partDelayMs));
      }
    })();
  });
}

/** The length of a chunked body at the start of `rest` (through its last chunk), or undefined while incomplete. */
function chunkedLength(rest: Buffer): number | undefined {
  let at = 0;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n', at, 'latin1');
    if (lineEnd === -1) return undefined;
    const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return rest.indexOf('\r\n\r\n', lineEnd, 'latin1') === lineEnd ? lineEnd + 4 : undefined;
    at = lineEnd + 2 + size + 2;
  }
}

/** Every complete response in `raw`, in order (a body without length runs to the end). */
export function splitResponses(raw: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  for (let rest = raw; rest.length > 0;) {
    const end = rest.indexOf('\r\n\r\n', 0, 'latin1');
    if (end === -1) break;
    const head = parse(rest.subarray(0, end + 4), true, true);
    if (head === undefined) break;
    const body = rest.subarray(end + 4);
    const length = head.headers['content-length'] !== undefined ? Number(head.headers['content-length'])
      : head.headers['transfer-encoding'] === 'chunked' ? chunkedLength(body) : body.length;
    if (length === undefined || body.length < length) break;
    const whole = parse(rest.subarray(0, end + 4 + length), true, false);
    if (whole !== undefined) responses.push(whole);
    rest = rest.subarray(end + 4 + length);
  }
  return responses;
}

export interface RawConversation {
  /** Every response received, in order. */
  readonly responses: readonly RawResponse[];
  /** Whether the server closed the connection within the time allowed. */
  readonly closed: boolean;
}

/** Sends `text` on a fresh connection and reads until the server closes it, or `timeoutMs` passes (then closed is false). */
export function rawConversation(port: number, text: string, timeoutMs = 5_000): Promise<RawConversation> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses: splitResponses(Buffer.concat(chunks)), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.write(Buffer.from(text, 'latin1'));
  });
}
