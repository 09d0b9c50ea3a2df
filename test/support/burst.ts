/**
 * `n` concurrent GETs of one URL: each resolves to the status, or to the client error's message
 * and code (so a failed request shows up in the result instead of rejecting the whole burst).
 */
import { fetch, type Dispatcher } from 'undici';

export function burst(url: string, n: number, dispatcher: Dispatcher): Promise<Array<number | string>> {
  return Promise.all(Array.from({ length: n }, () =>
    fetch(url, { dispatcher }).then(
      async (r) => { await r.arrayBuffer(); return r.status; },
      (err: Error) => `${err.message}: ${String((err.cause as { code?: string } | undefined)?.code ?? err.cause)}`)));
}
