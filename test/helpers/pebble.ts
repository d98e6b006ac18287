import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { tmpDir } from './tmp.js';

/** Why pebble cannot run here, or undefined when it can. */
export const pebbleMissing: string | undefined = (() => {
  for (const bin of ['pebble', 'pebble-challtestsrv', 'openssl']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed (apt-get install pebble openssl; .ci/apt.d/acme.txt lists it)`;
  }
  return undefined;
})();

/** A free TCP port on 127.0.0.1 (pebble takes fixed ports in its config). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Proc {
  proc: ChildProcess;
  log: string[];
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 10_000): Promise<Proc> {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (proc.kill('SIGKILL'), reject(new Error(`${cmd} not ready within ${timeoutMs} ms:\n${log.join('')}`))), timeoutMs);
    const onData = (c: Buffer) => {
      log.push(c.toString());
      if (ready.test(log.join(''))) {
        clearTimeout(timer);
        resolve({
          proc,
          log,
          stop: async () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${cmd} exited (${code}):\n${log.join('')}`))));
  });
}

export interface Pebble {
  directoryUrl: string;
  /** Pebble's own HTTPS certificate: give it to httpd as NODE_EXTRA_CA_CERTS. */
  wfeCaFile: string;
  /** The root that issued the certificates (from the management API). */
  root(): Promise<string>;
  /** Orders pebble has added so far (its log). */
  orders(): number;
  stop(): Promise<void>;
}

export interface ChallTestSrv {
  dnsAddress: string;
  /** Points `host` at `address` (instead of the default 127.0.0.1). */
  addA(host: string, address: string): Promise<void>;
  stop(): Promise<void>;
}

/** pebble-challtestsrv as DNS only: every name is 127.0.0.1 (no IPv6), its other listeners off. */
export async function startChallTestSrv(): Promise<ChallTestSrv> {
  const [dns, mgmt] = [await freePort(), await freePort()];
  const p = await run('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dns}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${mgmt}`], {}, /Starting management server/);
  return {
    dnsAddress: `127.0.0.1:${dns}`,
    addA: (host, address) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: mgmt, method: 'POST', path: '/add-a' }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`add-a: ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ host: `${host}.`, addresses: [address] }));
      }),
    stop: p.stop,
  };
}

/** Pebble on free ports, validating HTTP-01 on `httpPort` through `dnsServer`, issuing certificates valid `validitySeconds`. */
export async function startPebble(o: { httpPort: number; dnsServer: string; validitySeconds: number }): Promise<Pebble> {
  const dir = tmpDir('pebble-');
  const wfeCrt = path.join(dir, 'wfe.crt');
  const wfeKey = path.join(dir, 'wfe.key');
  spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', wfeKey, '-out', wfeCrt, '-days', '2', '-subj', '/CN=pebble-wfe', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const [acmePort, mgmtPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const config = path.join(dir, 'pebble.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: wfeCrt,
        privateKey: wfeKey,
        httpPort: o.httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        certificateValidityPeriod: o.validitySeconds,
      },
    }),
  );
  // No random VA sleeps, no rejected nonces: the test's timing depends on httpd, not on pebble's dice.
  const p = await run('pebble', ['-config', config, '-dnsserver', o.dnsServer], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' }, /Listening on/);
  const ca = fs.readFileSync(wfeCrt);
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    wfeCaFile: wfeCrt,
    // Pebble logs "Listening on" before its management listener is bound for sure: a refused connection is retried (bounded).
    root: async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await getText({ host: '127.0.0.1', port: mgmtPort, path: '/roots/0', ca });
        } catch (err) {
          if (attempt >= 30) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    orders: () => (p.log.join('').match(/Added order/g) ?? []).length,
    stop: p.stop,
  };
}

function getText(o: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(o, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${o.path}: ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/**
 * A minimal ACME server (RFC 8555 section 7) over plain HTTP that accepts any
 * account and answers every new order with a rate-limit problem (section 6.7,
 * urn:ietf:params:acme:error:rateLimited) and Retry-After (section 6.6).
 */
export async function startRateLimitingCa(retryAfterSeconds: number): Promise<{ directoryUrl: string; orders: () => number; close(): Promise<void> }> {
  let orders = 0;
  const server = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    req.resume();
    req.on('end', () => {
      res.setHeader('Replay-Nonce', crypto.randomBytes(16).toString('base64url'));
      if (req.url === '/dir') {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/account`, newOrder: `${base}/order`, revokeCert: `${base}/revoke`, keyChange: `${base}/key-change` }));
      } else if (req.url === '/nonce') {
        res.end();
      } else if (req.url === '/account') {
        res.statusCode = 201;
        res.setHeader('Location', `${base}/acct/1`);
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ status: 'valid' }));
      } else if (req.url === '/order') {
        orders++;
        res.statusCode = 429;
        res.setHeader('Retry-After', String(retryAfterSeconds));
        res.setHeader('Content-Type', 'application/problem+json');
        res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently' }));
      } else {
        res.statusCode = 404;
        res.end('not found');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    directoryUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dir`,
    orders: () => orders,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
