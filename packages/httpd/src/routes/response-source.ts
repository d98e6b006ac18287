/**
 * The bytes of a Response built from a string or bytes (`new Response('text')`,
 * `Response.json(...)`), without reading its body stream. Reading a one-chunk
 * stream costs two promise round trips through Node's web streams, about as
 * much as the rest of a small route response (measured in-process: ~50 us of
 * ~110 on a loaded machine, 2026-12). Node's fetch (undici) keeps the source it
 * was given in the Response's internal state; it is read only when the body is
 * untouched, and the check below runs once: if undici ever keeps it elsewhere,
 * every body is read through its stream, as the Fetch standard says.
 * WEBROOT_PORTABLE_ROUTES=1 forces the stream path (the tests run both).
 */

interface BodyState {
  body?: { source?: unknown; length?: number | null } | null;
}

function findStateSymbol(): symbol | undefined {
  if (process.env.WEBROOT_PORTABLE_ROUTES === '1') return undefined;
  try {
    const probe = new Response('probe');
    const sym = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'state');
    if (sym === undefined) return undefined;
    const state = (probe as unknown as Record<symbol, BodyState>)[sym];
    if (state?.body?.source !== 'probe' || state.body.length !== 5) return undefined;
    const bytes = new Response(new Uint8Array([1, 2]));
    const s2 = (bytes as unknown as Record<symbol, BodyState>)[sym]?.body;
    return s2?.source instanceof Uint8Array && s2.length === 2 ? sym : undefined;
  } catch {
    return undefined;
  }
}

const STATE = findStateSymbol();

/** Whether the fast path is in use (for the log and the tests). */
export const fastResponseBodies = STATE !== undefined;

/** The whole body of `res` when it was made from a string or bytes and nothing has read it; else undefined. */
export function sourceBytes(res: Response): Buffer | undefined {
  if (STATE === undefined) return undefined;
  const body = (res as unknown as Record<symbol, BodyState>)[STATE]?.body;
  if (body === null || body === undefined) return undefined;
  const src = body.source;
  if (typeof src !== 'string' && !(src instanceof Uint8Array)) return undefined;
  if (res.bodyUsed || res.body?.locked) return undefined;
  return typeof src === 'string' ? Buffer.from(src) : Buffer.from(src.buffer, src.byteOffset, src.length);
}
