/**
 * The server name of a TLS ClientHello (RFC 8446 section 4.1.2; the
 * server_name extension of RFC 6066 section 3), read from the first bytes a
 * client sends, before any TLS object exists. Choosing the certificate here,
 * rather than in Node's SNICallback, is what makes every pair whole: Node's
 * SNICallback adds the chosen certificate to those of the server's own context
 * (SSL_use_certificate), so with an ECDSA default and an RSA pair for a host,
 * ECDSA clients got the default certificate for that host.
 */
export type HelloOutcome =
  /** More bytes are needed (the record is not complete yet). */
  | { kind: 'incomplete' }
  /** A ClientHello; `serverName` undefined when it carries no host_name. */
  | { kind: 'hello'; serverName: string | undefined }
  /** Not a TLS ClientHello (plain HTTP on the TLS port, garbage). */
  | { kind: 'not-tls'; reason: string };

/** A ClientHello fits in one record in practice (they are a few hundred bytes; post-quantum ones ~1.8 KB). */
export const MAX_HELLO_RECORD = 16 * 1024;

export function readClientHello(buf: Buffer): HelloOutcome {
  if (buf.length >= 1 && buf[0] !== 0x16) return { kind: 'not-tls', reason: 'the first byte is not a TLS handshake record' };
  if (buf.length < 5) return { kind: 'incomplete' };
  const recordLength = buf.readUInt16BE(3);
  if (recordLength > MAX_HELLO_RECORD) return { kind: 'not-tls', reason: 'the handshake record is too long' };
  if (buf.length < 5 + recordLength) return { kind: 'incomplete' };
  const body = buf.subarray(5, 5 + recordLength);
  if (body.length < 4 || body[0] !== 0x01) return { kind: 'not-tls', reason: 'the first handshake message is not a ClientHello' };
  const helloLength = body.readUIntBE(1, 3);
  // A ClientHello split over several records: take what the first one has (the extensions may be cut; then no name).
  const hello = body.subarray(4, 4 + helloLength);
  let p = 2 + 32; // legacy_version, random
  if (p >= hello.length) return { kind: 'hello', serverName: undefined };
  p += 1 + hello[p]!; // legacy_session_id
  if (p + 2 > hello.length) return { kind: 'hello', serverName: undefined };
  p += 2 + hello.readUInt16BE(p); // cipher_suites
  if (p >= hello.length) return { kind: 'hello', serverName: undefined };
  p += 1 + hello[p]!; // legacy_compression_methods
  if (p + 2 > hello.length) return { kind: 'hello', serverName: undefined };
  const end = Math.min(hello.length, p + 2 + hello.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const type = hello.readUInt16BE(p);
    const length = hello.readUInt16BE(p + 2);
    p += 4;
    if (type === 0 && p + length <= end) return { kind: 'hello', serverName: hostName(hello.subarray(p, p + length)) };
    p += length;
  }
  return { kind: 'hello', serverName: undefined };
}

/** The host_name entry of a ServerNameList (RFC 6066 section 3), lower-cased; undefined when absent or not a DNS name. */
function hostName(ext: Buffer): string | undefined {
  if (ext.length < 2) return undefined;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  let p = 2;
  while (p + 3 <= end) {
    const type = ext[p]!;
    const length = ext.readUInt16BE(p + 1);
    p += 3;
    if (p + length > end) return undefined;
    if (type === 0) {
      const name = ext.toString('latin1', p, p + length).toLowerCase();
      return /^[a-z0-9._-]+$/.test(name) ? name.replace(/\.$/, '') : undefined;
    }
    p += length;
  }
  return undefined;
}
