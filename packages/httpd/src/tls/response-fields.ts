import type { Field, HttpResponse } from '../http/response.js';

/** RFC 6797 section 6.1: Strict-Transport-Security, sent over secure transport only. */
export function hstsField(maxAgeSeconds: number): Field {
  return ['Strict-Transport-Security', `max-age=${maxAgeSeconds}`];
}

/**
 * Adds fixed fields (HSTS) to every response of a listener. The combined
 * `extra` array is made once per original array, so the HTTP/1.1 head cache,
 * which checks `extra` by identity, keeps hitting.
 */
export function addFields(fields: readonly Field[]): (res: HttpResponse) => HttpResponse {
  const combined = new WeakMap<readonly Field[], readonly Field[]>();
  return (res) => {
    let extra = combined.get(res.extra);
    if (extra === undefined) {
      extra = [...res.extra, ...fields];
      combined.set(res.extra, extra);
    }
    res.extra = extra;
    return res;
  };
}
