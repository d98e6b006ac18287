import { normaliseHost } from '../http/host.js';
import type { RequestHead } from '../http/parse-request.js';
import { parseTarget } from '../http/target.js';

/** Percent-encodes a normalised (decoded) path again, segment by segment, for a Location field. */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * --redirect-http: where a plain-HTTP request for a host that has a
 * certificate goes instead. 308 keeps the method (RFC 9110 section 15.4.9);
 * the Location is built from the normalised host and path (never the raw
 * target) and the query as sent (it is checked to be visible ASCII), with the
 * TLS port unless it is 443. Undefined: serve the request as usual (no
 * certificate for the host, no or bad Host, a target that is not a path:
 * those get their normal answer, a 400 included).
 */
export function httpsLocation(head: RequestHead, covers: (host: string) => boolean, tlsPort: number): string | undefined {
  const target = parseTarget(head.target);
  if (target.kind !== 'path' || head.hostCount > 1) return undefined;
  const host = normaliseHost(target.authority ?? head.headers.host ?? '');
  if (host === undefined || host === '' || !covers(host)) return undefined;
  return `https://${host}${tlsPort === 443 ? '' : `:${tlsPort}`}${encodePath(target.path)}${target.query}`;
}
