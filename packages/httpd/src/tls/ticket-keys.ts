import crypto from 'node:crypto';

/**
 * Session-ticket keys (RFC 5077 section 4; RFC 8446 section 4.6.1 for TLS 1.3
 * tickets): 48 bytes as Node's `server.setTicketKeys` takes them (16 name, 16
 * HMAC, 16 AES). The primary makes them and sends them to every worker over
 * IPC, so a ticket issued by one worker resumes on whichever accepts the next
 * connection. They are replaced every `TICKET_ROTATION_MS`: Node holds one key
 * at a time, so a ticket older than the last rotation costs a full handshake
 * (it is never an error).
 */
export const TICKET_KEY_BYTES = 48;
export const TICKET_ROTATION_MS = 12 * 60 * 60 * 1000;
/** Lifetime hint of a ticket (and of a TLS 1.2 session), seconds: no longer than a key lives. */
export const TICKET_LIFETIME_S = 6 * 60 * 60;

export function newTicketKeys(): Buffer {
  return crypto.randomBytes(TICKET_KEY_BYTES);
}

/** Keys as they travel over IPC (JSON): base64. Undefined when the text is not a key. */
export function decodeTicketKeys(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const b = Buffer.from(text, 'base64');
  return b.length === TICKET_KEY_BYTES ? b : undefined;
}

/** Calls `apply` with fresh keys now and after every rotation; returns a stop function. */
export function rotateTicketKeys(apply: (keys: Buffer) => void, intervalMs = TICKET_ROTATION_MS): () => void {
  apply(newTicketKeys());
  const timer = setInterval(() => apply(newTicketKeys()), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
