import { normaliseHost } from '../http/host.js';
import { encodePath } from '../http/resolve.js';
import type { RequestInfo, Resource } from '../http/response.js';
import { parseTarget } from '../http/target.js';

/**
 * --redirect-http: what a plain-HTTP request for a host that has a
 * certificate gets instead: a 308, which keeps the method (RFC 9110 section
 * 15.4.9). The Location is built from the normalised host and path (never the
 * raw target) and the query as sent (checked to be visible ASCII), with the
 * TLS port unless it is 443. Undefined: serve the request as usual (no
 * certificate for the host, no or bad Host, a target that is not a path:
 * those get their normal answer, a 400 included).
 */
export function httpsRedirect(req: RequestInfo, covers: (host: string) => boolean, tlsPort: number): Resource | undefined {
  const target = parseTarget(req.target);
  if (target.kind !== 'path' || req.hostCount > 1) return undefined;
  const host = normaliseHost(target.authority ?? req.authority ?? '');
  if (host === undefined || host === '' || !covers(host)) return undefined;
  return { kind: 'redirect', status: 308, location: `https://${host}${tlsPort === 443 ? '' : `:${tlsPort}`}${encodePath(target.path)}${target.query}` };
}
