/**
 * Where the double's API lives, like a real install:
 * - `suitecrm7`: the API at `/Api` only; Apache's plain 404 for anything else (`/legacy/...`);
 * - `suitecrm8`: the API only under `/legacy/Api` (suitecrm-api.md: "Confirmed on a live SuiteCRM
 *   8.8.0"): `/Api/...` at the site root gets SuiteCRM's own 404 page (Slim behind Symfony), a
 *   doubled `/legacy/legacy/...` and anything else Apache's plain 404;
 * - no layout (the default): both `/Api` and `/legacy/Api` answer, as before layouts existed.
 * Within the API prefixes, unknown routes get Slim's 404 as always.
 */
import type { Reply } from './http.js';
import { notFoundReply } from './slim-handlers.js';

export type Layout = 'suitecrm7' | 'suitecrm8';

export const LAYOUT_PREFIXES: Readonly<Record<Layout, readonly string[]>> = {
  suitecrm7: ['/Api'],
  suitecrm8: ['/legacy/Api'],
};

const APACHE_404 =
  '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n' +
  '<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n';

export function apache404(): Reply {
  return { status: 404, headers: { 'Content-Type': 'text/html; charset=iso-8859-1' }, body: APACHE_404 };
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The answer to a path outside the layout's API prefixes; undefined: Slim's 404 (no layout, or inside a prefix). */
export function outsideApiReply(layout: Layout | undefined, prefixes: readonly string[], path: string, accept: string | undefined): Reply | undefined {
  if (layout === undefined || prefixes.some((prefix) => under(path, prefix))) return undefined;
  // SuiteCRM 8 sends the root-level /Api alias through Symfony to Slim, which finds no route there.
  if (layout === 'suitecrm8' && under(path, '/Api')) return notFoundReply(accept);
  return apache404();
}
