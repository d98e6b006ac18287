import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { headerListSize, rawHeaderListSize, requestInfoOfH2 } from '../src/h2/h2-server.js';
import { h2Headers } from '../src/h2/serialize-h2.js';
import type { HttpResponse, RequestInfo } from '../src/http/response.js';
import { certNameOf, checkPair, selectCertName } from '../src/tls/cert-pair.js';
import { readClientHello } from '../src/tls/client-hello.js';
import { httpsRedirect } from '../src/tls/redirect-http.js';
import { addFields, hstsField } from '../src/tls/response-fields.js';
import { decodeTicketKeys, newTicketKeys } from '../src/tls/ticket-keys.js';
import { request } from './helpers/fake-site.js';

describe('certNameOf: what a CERTS_DIR file names', () => {
  it.each([
    ['example.com.crt', { name: 'example.com', kind: 'host' }],
    ['Example.COM.crt', { name: 'example.com', kind: 'host' }],
    ['localhost.crt', { name: 'localhost', kind: 'host' }],
    ['_.example.com.crt', { name: '*.example.com', kind: 'wildcard' }],
    ['__default__.crt', { name: '__default__', kind: 'default' }],
    ['example.com.key', undefined],
    ['.example.com.crt', undefined],
    ['_.com.crt', undefined], // a wildcard needs two labels after it
    ['a b.crt', undefined],
    ['example.com.pem', undefined],
  ])('%s -> %j', (file, want) => expect(certNameOf(file)).toEqual(want));
});

describe('selectCertName: exact, then a one-label wildcard (RFC 6125 section 6.4.3), then __default__', () => {
  const names = new Set(['a.test', '*.wild.test', '__default__']);
  it.each([
    ['a.test', 'a.test'],
    ['A.TEST.', 'a.test'],
    ['x.wild.test', '*.wild.test'],
    ['y.x.wild.test', '__default__'],
    ['wild.test', '__default__'],
    ['', '__default__'],
    [undefined, '__default__'],
  ])('%s -> %s', (name, want) => expect(selectCertName(name, names)).toBe(want));
  it('no default: an unknown name gets nothing (the handshake is refused)', () => {
    expect(selectCertName('nope.test', new Set(['a.test']))).toBeUndefined();
  });
});

const opensslMissing = spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is not installed';
if (opensslMissing) console.log(`tls.test.ts: checkPair and ClientHello cases skipped: ${opensslMissing}`);

function pem(keyType: 'ec' | 'rsa', cn: string): { cert: Buffer; key: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pair-'));
  try {
    const keyArgs = keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c'), '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
    return { cert: fs.readFileSync(path.join(dir, 'c')), key: fs.readFileSync(path.join(dir, 'k')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(opensslMissing !== undefined)('checkPair: a pair is validated fully before use', () => {
  const a = opensslMissing ? undefined : pem('ec', 'a.test');
  const b = opensslMissing ? undefined : pem('rsa', 'b.test');
  const now = Date.now();
  it.each([
    ['a good ECDSA pair', () => checkPair(a!.cert, a!.key, now), 'ok'],
    ['a good RSA pair', () => checkPair(b!.cert, b!.key, now), 'ok'],
    ['a key of another certificate', () => checkPair(a!.cert, b!.key, now), 'does not match'],
    ['garbage for a certificate', () => checkPair(Buffer.from('hello'), a!.key, now), 'does not parse as PEM'],
    ['garbage for a key', () => checkPair(a!.cert, Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), now), 'does not parse as an unencrypted PEM key'],
    ['a certificate past its end (now + 3 days)', () => checkPair(a!.cert, a!.key, now + 3 * 86400_000), 'expired on'],
    ['a certificate not valid yet (now - 1 day)', () => checkPair(a!.cert, a!.key, now - 86400_000), 'not valid before'],
  ])('%s', (_name, check, want) => {
    const r = check();
    if (want === 'ok') expect(r.kind).toBe('ok');
    else {
      expect(r.kind).toBe('bad');
      expect(r.kind === 'bad' && r.reason).toContain(want);
    }
  });
});

/** A real ClientHello, as Node's client sends it, captured from a socket pair. */
async function captureHello(servername: string | undefined): Promise<Buffer> {
  const { Duplex } = await import('node:stream');
  return new Promise((resolve) => {
    const sink = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        resolve(Buffer.from(chunk));
        cb();
      },
    });
    const s = tls.connect({ socket: sink as never, ...(servername ? { servername } : {}), rejectUnauthorized: false });
    s.on('error', () => {});
  });
}

describe('readClientHello: the server name before the handshake (RFC 8446 section 4.1.2, RFC 6066 section 3)', () => {
  it('reads host_name from a real ClientHello, and none when there is no SNI', async () => {
    expect(readClientHello(await captureHello('Www.Example.com'))).toEqual({ kind: 'hello', serverName: 'www.example.com' });
    expect(readClientHello(await captureHello(undefined))).toEqual({ kind: 'hello', serverName: undefined });
  });
  it('asks for more bytes until the record is complete, at every split', async () => {
    const hello = await captureHello('a.test');
    for (let n = 0; n < hello.length; n += 7) expect(readClientHello(hello.subarray(0, n)).kind).toBe('incomplete');
  });
  it.each([
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['an alert record', Buffer.from([0x15, 3, 3, 0, 2, 2, 40])],
    ['a handshake record that is not a ClientHello', Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0])],
    ['a record longer than 16 KiB', Buffer.from([0x16, 3, 1, 0x50, 0])],
  ])('%s is not a ClientHello', (_name, bytes) => expect(readClientHello(bytes).kind).toBe('not-tls'));
});

/** A request for a.test (the fake site's request builder with another host). */
const req = (over: Partial<RequestInfo>): RequestInfo => request('/', { authority: 'a.test', ...over });

describe('httpsRedirect (--redirect-http): 308 from normalised parts (RFC 9110 section 15.4.9)', () => {
  const covers = (h: string) => h === 'a.test' || h.endsWith('.wild.test');
  it.each([
    [{ target: '/x?y=1' }, 8443, 'https://a.test:8443/x?y=1'],
    [{ target: '/x' }, 443, 'https://a.test/x'],
    [{ authority: 'A.TEST:8080' }, 8443, 'https://a.test:8443/'],
    [{ target: '/a/../b%20c' }, 8443, 'https://a.test:8443/b%20c'],
    [{ target: '/%2e%2e/x' }, 8443, undefined], // climbs above the root: the normal 400
    [{ target: 'http://x.wild.test/p?q' }, 8443, 'https://x.wild.test:8443/p?q'],
    [{ authority: 'other.test' }, 8443, undefined],
    [{ authority: undefined }, 8443, undefined],
    [{ hostCount: 2 }, 8443, undefined],
    [{ target: '*', method: 'OPTIONS' }, 8443, undefined],
    [{ method: 'POST' }, 8443, 'https://a.test:8443/'], // 308 keeps the method
  ])('%j on TLS port %i -> %s', (over, port, location) => {
    const r = httpsRedirect(req(over), covers, port);
    expect(r === undefined ? undefined : r.kind === 'redirect' && r.status === 308 && r.location).toBe(location);
  });
});

const response = (over: Partial<HttpResponse>): HttpResponse => ({
  status: 200,
  contentType: 'text/plain',
  contentLength: 3,
  contentEncoding: undefined,
  contentRange: undefined,
  etag: '"e"',
  lastModified: 1_700_000_000,
  cacheControl: 'no-cache',
  vary: undefined,
  acceptRanges: true,
  location: undefined,
  allow: undefined,
  extra: [],
  body: [],
  bodyLength: 0,
  site: undefined,
  close: false,
  cacheKey: undefined,
  ...over,
});

describe('h2Headers: the HTTP/2 serializer (RFC 9113 section 8.2)', () => {
  it('lower-case names, :status, the validators, Date last', () => {
    expect(h2Headers(response({ extra: [['X-Frame-Options', 'DENY']] }), 'D')).toEqual({
      ':status': 200,
      'content-type': 'text/plain',
      'content-length': 3,
      etag: '"e"',
      'last-modified': 'Tue, 14 Nov 2023 22:13:20 GMT',
      'cache-control': 'no-cache',
      'accept-ranges': 'bytes',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      server: 'webroot',
      date: 'D',
    });
  });
  it('drops connection-specific fields a rule might name (8.2.2)', () => {
    const h = h2Headers(response({ extra: [['Connection', 'close'], ['Keep-Alive', '5'], ['Transfer-Encoding', 'chunked'], ['Upgrade', 'h2c']] }), 'D');
    for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade']) expect(h).not.toHaveProperty(name);
  });
  it('drops Proxy-Connection, TE and HTTP2-Settings a rule might name (8.2.2; node refuses them in a response)', () => {
    const h = h2Headers(response({ extra: [['Proxy-Connection', 'x'], ['TE', 'gzip'], ['HTTP2-Settings', 'x'], ['X-Kept', 'yes']] }), 'D');
    for (const name of ['proxy-connection', 'te', 'http2-settings']) expect(h).not.toHaveProperty(name);
    expect(h['x-kept']).toBe('yes');
  });
  it('a 304 has no content fields', () => {
    const h = h2Headers(response({ status: 304, contentType: undefined, contentLength: undefined }), 'D');
    expect(h[':status']).toBe(304);
    expect(h).not.toHaveProperty('content-length');
    expect(h).not.toHaveProperty('content-type');
  });
});

describe('HTTP/2 request fields', () => {
  it('requestInfoOfH2 maps pseudo-headers (RFC 9113 section 8.3.1)', () => {
    const r = requestInfoOfH2({ ':method': 'HEAD', ':path': '/x?y', ':authority': 'A.test', range: 'bytes=0-1', 'if-none-match': '"a"' });
    expect(r).toMatchObject({ method: 'HEAD', target: '/x?y', authority: 'A.test', hostCount: 1, minor: 1, scheme: 'https', range: 'bytes=0-1', ifNoneMatch: '"a"' });
    expect(requestInfoOfH2({ ':method': 'GET', ':path': '/', host: 'h' }).authority).toBe('h');
    expect(requestInfoOfH2({ ':method': 'GET', ':path': '/' }).hostCount).toBe(0);
  });
  it('headerListSize counts name + value + 32 per field (RFC 9113 section 6.5.2)', () => {
    expect(headerListSize({ ':path': '/', a: 'bc' })).toBe(5 + 1 + 32 + 1 + 2 + 32);
    expect(headerListSize({ 'set-x': ['1', '22'] } as never)).toBe(5 + 1 + 32 + 5 + 2 + 32);
    // node:http2's raw list counts each field line once, repeated names included.
    expect(rawHeaderListSize([':path', '/', 'a', 'bc'])).toBe(5 + 1 + 32 + 1 + 2 + 32);
    expect(rawHeaderListSize(['set-x', '1', 'set-x', '22'])).toBe(5 + 1 + 32 + 5 + 2 + 32);
  });
});

describe('HSTS and ticket keys', () => {
  it('addFields makes one combined array per original, so head caches keep hitting', () => {
    const add = addFields([hstsField(600)]);
    const base: readonly [string, string][] = [['X-A', '1']];
    const one = add(response({ extra: base })).extra;
    const two = add(response({ extra: base })).extra;
    expect(one).toBe(two);
    expect(one).toEqual([['X-A', '1'], ['Strict-Transport-Security', 'max-age=600']]);
  });
  it('ticket keys are 48 random bytes and travel as base64; anything else is refused', () => {
    const k = newTicketKeys();
    expect(k.length).toBe(48);
    expect(newTicketKeys().equals(k)).toBe(false);
    expect(decodeTicketKeys(k.toString('base64'))!.equals(k)).toBe(true);
    for (const bad of [undefined, 42, '', Buffer.alloc(47).toString('base64')]) expect(decodeTicketKeys(bad)).toBeUndefined();
  });
});
