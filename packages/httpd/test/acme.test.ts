import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAcmeOptions } from '../src/acme/acme-options.js';
import { acmeEligibility } from '../src/acme/eligibility.js';
import { describeFailure, parseRetryAfter } from '../src/acme/failure.js';
import { planHost, renewalTime, retryDelay, RETRY_CAP_MS } from '../src/acme/schedule.js';
import { StateDir, writeFileAtomic } from '../src/acme/state-files.js';
import { WorkerAcme } from '../src/acme/worker-acme.js';
import type { RequestInfo } from '../src/http/response.js';
import { createLogger } from '../src/log.js';

describe('parseAcmeOptions: the ACME section, all or nothing', () => {
  const full = { directory: 'https://ca.test/dir', email: 'ops@example.com', agreeTos: true, state: '/var/lib/webroot-acme' };
  it('no option: off', () => expect(parseAcmeOptions({})).toEqual({ kind: 'off' }));
  it('all four: on, with the default first retry of 60 s', () =>
    expect(parseAcmeOptions(full)).toEqual({ kind: 'ok', acme: { directoryUrl: 'https://ca.test/dir', email: 'ops@example.com', stateDir: '/var/lib/webroot-acme', retryMs: 60_000 } }));
  it.each([
    [{ directory: 'https://ca.test/dir' }, /needs --acme-email, --acme-agree-tos, --acme-state/],
    [{ ...full, agreeTos: false }, /needs --acme-agree-tos/],
    [{ ...full, directory: 'not a url' }, /--acme-directory 'not a url' is not a URL/],
    [{ ...full, directory: 'ftp://ca.test/dir' }, /must be an https:\/\/ URL/],
    [{ ...full, email: 'ops' }, /--acme-email 'ops' is not an email address/],
    [{ retry: 5 }, /--acme-retry needs --acme-directory/],
  ])('%j -> %s', (input, message) => {
    const out = parseAcmeOptions(input);
    expect(out.kind).toBe('bad');
    expect(out.kind === 'bad' && out.message).toMatch(message);
  });
  it('a configuration key spells the options its own way', () => {
    const out = parseAcmeOptions({ directory: 'x' }, (n) => `acme.${n}`);
    expect(out.kind === 'bad' && out.message).toMatch(/acme\.email, acme\.agreeTos, acme\.state/);
  });
});

describe('acmeEligibility: which vhost names get an ACME certificate (RFC 8555 section 7.1.4, dns identifiers)', () => {
  const hand = new Set(['hand.test', '*.wild.test', '__default__']);
  it.each([
    ['example.com', { kind: 'order' }],
    ['a.b.example.com', { kind: 'order' }],
    ['xn--bcher-kva.example', { kind: 'order' }],
    ['__default__', { kind: 'skip', reason: 'default' }],
    ['127.0.0.1', { kind: 'skip', reason: 'ip-address' }],
    ['[::1]', { kind: 'skip', reason: 'ip-address' }],
    ['*.example.com', { kind: 'skip', reason: 'wildcard' }],
    ['localhost', { kind: 'skip', reason: 'not-a-dns-name' }],
    ['-a.example.com', { kind: 'skip', reason: 'not-a-dns-name' }],
    ['a_b.example.com', { kind: 'skip', reason: 'not-a-dns-name' }],
    [`${'a'.repeat(64)}.example.com`, { kind: 'skip', reason: 'not-a-dns-name' }],
    ['hand.test', { kind: 'skip', reason: 'hand-placed' }],
    ['x.wild.test', { kind: 'skip', reason: 'hand-placed' }],
    ['x.y.wild.test', { kind: 'order' }], // a wildcard covers one label only (RFC 6125 section 6.4.3)
  ])('%s -> %j', (host, want) => expect(acmeEligibility(host, hand)).toEqual(want));
});

describe('schedule: renewal at two thirds of the lifetime, capped exponential backoff', () => {
  const cert = { notBefore: 0, notAfter: 90_000 };
  it.each([
    [0, 60_000],
    [0.5, 60_000 - 2250],
    [0.999, 60_000 - Math.ceil(90_000 * 0.05 * 0.999)],
  ])('jitter %d: renew at %d', (jitter, at) => expect(renewalTime(cert, jitter)).toBe(at));
  it.each([
    [1, 1000, 0, 1000],
    [2, 1000, 0, 2000],
    [5, 1000, 0, 16_000],
    [40, 1000, 0, RETRY_CAP_MS],
    [1, 1000, 30_000, 30_000], // the CA's Retry-After is a floor (RFC 8555 section 6.6)
    [1, 1000, RETRY_CAP_MS * 2, RETRY_CAP_MS * 2],
  ])('failures %d, base %d, Retry-After %d -> %d', (failures, base, retryAfter, want) => expect(retryDelay(failures, base, retryAfter)).toBe(want));
  it.each([
    ['no certificate', { failures: 0, jitter: 0 }, 5, { kind: 'order', why: 'no-certificate' }],
    ['before renewal', { cert, failures: 0, jitter: 0 }, 59_999, { kind: 'wait', untilMs: 60_000 }],
    ['at renewal', { cert, failures: 0, jitter: 0 }, 60_000, { kind: 'order', why: 'renewal' }],
    ['failed, backing off', { cert, failures: 3, failedAt: 70_000, jitter: 0 }, 73_000, { kind: 'wait', untilMs: 74_000 }],
    ['failed, retry due', { cert, failures: 3, failedAt: 70_000, jitter: 0 }, 74_000, { kind: 'order', why: 'retry' }],
  ])('%s', (_name, schedule, now, want) => expect(planHost(schedule, now, 1000)).toEqual(want));
});

describe('describeFailure: one cause per failed order', () => {
  const dir = 'https://ca.test/dir';
  it.each([
    ['store', Object.assign(new Error('x'), { code: 'ENOTDIR' }), undefined, /cannot write the state directory \(ENOTDIR\)/],
    ['directory', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), undefined, /cannot reach the CA at https:\/\/ca.test\/dir \(ECONNREFUSED\)/],
    ['directory', new Error('Attempting to read ACME directory returned error 404: https://ca.test/dir'), undefined, /is not an ACME directory .*check --acme-directory/],
    ['challenge', new Error('Connection refused'), { type: 'urn:ietf:params:acme:error:connection', detail: '127.0.0.2: Connection refused' }, /refused the http-01 challenge: 127.0.0.2: Connection refused/],
    ['order', new Error('too many'), { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many orders', retryAfterMs: 7000 }, /rate limit \(rateLimited\): too many orders/],
    ['order', new Error('bad'), { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'no' }, /refused the order request \(rejectedIdentifier\): no/],
  ] as const)('%s: %s', (stage, err, problem, cause) => expect(describeFailure(stage, err, problem, dir).cause).toMatch(cause));
  it('a rate limit carries its Retry-After', () =>
    expect(describeFailure('order', new Error(''), { type: 'urn:ietf:params:acme:error:rateLimited', retryAfterMs: 7000 }, dir).retryAfterMs).toBe(7000));
  it.each([
    ['120', 120_000],
    [' 3 ', 3000],
    ['Thu, 01 Jan 1970 00:01:40 GMT', 90_000],
    ['soon', undefined],
    [undefined, undefined],
  ])('Retry-After %j at 10 s -> %j (RFC 9110 section 10.2.3)', (value, want) => expect(parseRetryAfter(value, 10_000)).toBe(want));
});

describe('state files: written atomically, 0600', () => {
  it('writeFileAtomic replaces the file whole and leaves no temporary name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-state-'));
    const file = path.join(dir, 'a.test.crt');
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['a.test.crt']);
  });
  it('StateDir.prepare makes certs/ 0700 and refuses a path under a file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-state-'));
    new StateDir(path.join(dir, 's')).prepare();
    expect(fs.statSync(path.join(dir, 's', 'certs')).mode & 0o777).toBe(0o700);
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => new StateDir(path.join(dir, 'file', 's')).prepare()).toThrow(/ENOTDIR/);
  });
});

describe('WorkerAcme.challengeResource: the HTTP-01 answer (RFC 8555 section 8.3)', () => {
  const req = (over: Partial<RequestInfo>): RequestInfo => ({ method: 'GET', target: '/', authority: 'a.test', hostCount: 1, minor: 1, scheme: 'http', acceptEncoding: undefined, range: undefined, ifRange: undefined, ifNoneMatch: undefined, ifModifiedSince: undefined, ifMatch: undefined, ifUnmodifiedSince: undefined, ...over });
  const acme = new WorkerAcme(createLogger('error', () => {}));
  const acks: number[] = [];
  acme.onMessage({ type: 'acme-challenge', token: 'tok_en-1', keyAuthorization: 'tok_en-1.thumb', seq: 7 } as never, (m) => acks.push(m.seq));
  it('acknowledges the primary', () => expect(acks).toEqual([7]));
  it.each([
    ['GET', '/.well-known/acme-challenge/tok_en-1', { kind: 'text', status: 200, text: 'tok_en-1.thumb', contentType: 'application/octet-stream' }],
    ['HEAD', '/.well-known/acme-challenge/tok_en-1', { kind: 'text', status: 200, text: 'tok_en-1.thumb', contentType: 'application/octet-stream' }],
    ['GET', '/.well-known/acme-challenge/tok_en-1?x=1', { kind: 'text', status: 200, text: 'tok_en-1.thumb', contentType: 'application/octet-stream' }],
    ['POST', '/.well-known/acme-challenge/tok_en-1', undefined],
    ['GET', '/.well-known/acme-challenge/other', undefined],
    ['GET', '/.well-known/acme-challenge/../acme-challenge/tok_en-1', { kind: 'text', status: 200, text: 'tok_en-1.thumb', contentType: 'application/octet-stream' }],
    ['GET', '/.well-known/acme-challenge/tok%2Fen', undefined],
    ['GET', '/index.html', undefined],
  ])('%s %s', (method, target, want) => expect(acme.challengeResource(req({ method, target }))).toEqual(want));
  it('a withdrawn token is served by the site again', () => {
    acme.onMessage({ type: 'acme-challenge', token: 'tok_en-1', seq: 8 } as never, () => {});
    expect(acme.challengeResource(req({ target: '/.well-known/acme-challenge/tok_en-1' }))).toBeUndefined();
  });
});

describe('WorkerAcme certificates', () => {
  const openssl = spawnSync('openssl', ['version']).status === 0;
  if (!openssl) console.log('acme.test.ts: WorkerAcme certificates skipped: openssl is not installed');
  it.skipIf(!openssl)('an installed certificate answers its exact name until it expires, then no longer (the default does)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-cert-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c'), '-days', '1', '-subj', '/CN=a.test', '-addext', 'subjectAltName=DNS:a.test'], { stdio: 'ignore' });
    const acme = new WorkerAcme(createLogger('error', () => {}));
    acme.onMessage({ type: 'acme-cert', host: 'a.test', cert: fs.readFileSync(path.join(dir, 'c'), 'utf8'), key: fs.readFileSync(path.join(dir, 'k'), 'utf8') } as never, () => {});
    expect(acme.contextFor('a.test')).toBeDefined();
    expect(acme.contextFor('A.TEST.')).toBeDefined();
    expect(acme.contextFor('b.test')).toBeUndefined();
    expect(acme.covers('a.test')).toBe(true);
    expect(acme.contextFor('a.test', Date.now() + 2 * 86_400_000)).toBeUndefined();
  });
  it('a certificate that does not parse is refused with a log line; nothing is installed', () => {
    const lines: string[] = [];
    const acme = new WorkerAcme(createLogger('info', (l) => lines.push(l)));
    acme.onMessage({ type: 'acme-cert', host: 'a.test', cert: 'junk', key: 'junk' } as never, () => {});
    expect(acme.contextFor('a.test')).toBeUndefined();
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['acme-cert-refused']);
  });
});
