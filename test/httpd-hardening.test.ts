import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { parseResponses, rawExchange } from './helpers/raw.js';
import { singleSiteVhosts } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

// Regressions for issue 9 findings in httpd that only a real server shows.
let srv: RunningHttpd;
let accessLog: string;
beforeAll(async () => {
  const { vhosts } = await singleSiteVhosts({ 'index.html': 'home\n' });
  accessLog = path.join(tmpDir(), 'access.log');
  srv = await startHttpd(vhosts, ['--workers', '0', '--access-log', accessLog]);
});
afterAll(async () => {
  expect(await srv.stop()).toBe(0);
});

async function statusFor(request: string | Buffer): Promise<number> {
  const { data } = await rawExchange(srv.port, request);
  return parseResponses(data)[0]!.status;
}

describe('Host with a port outside 0-65535 is a 400 (RFC 3986 section 3.2.3, RFC 9112 section 3.2)', () => {
  it.each(['x:99999', 'x:65536', '[::1]:70000', 'x:4294967376'])('Host: %s -> 400', async (host) => {
    expect(await statusFor(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).toBe(400);
  });
  it.each(['x:65535', 'x:0', 'x:'])('Host: %s -> 200', async (host) => {
    expect(await statusFor(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).toBe(200);
  });
  it('an absolute-form authority with a port above 65535 is a 400 too', async () => {
    expect(await statusFor('GET http://x:99999/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toBe(400);
  });
});

describe('the access log escapes 8-bit bytes in User-Agent and Referer as nginx does (\\xHH)', () => {
  it('logs the bytes received, not mojibake, and nothing can break a field', async () => {
    const ua = Buffer.concat([Buffer.from('agent-caf'), Buffer.from([0xc3, 0xa9]), Buffer.from(' "q" \\ '), Buffer.from([0xff])]);
    const referer = Buffer.concat([Buffer.from('http://r.test/'), Buffer.from([0xe9])]);
    const request = Buffer.concat([
      Buffer.from('GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: '),
      ua,
      Buffer.from('\r\nReferer: '),
      referer,
      Buffer.from('\r\n\r\n'),
    ]);
    expect(await statusFor(request)).toBe(200);
    const deadline = performance.now() + 5000;
    let line: string | undefined;
    while (line === undefined && performance.now() < deadline) {
      line = fs.existsSync(accessLog) ? fs.readFileSync(accessLog, 'latin1').split('\n').find((l) => l.includes('agent-caf')) : undefined;
      if (line === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(line).toMatch(/"GET \/index\.html HTTP\/1\.1" 200 5 "http:\/\/r\.test\/\\xE9" "agent-caf\\xC3\\xA9 \\x22q\\x22 \\x5C \\xFF"$/);
    expect(/[^\x20-\x7e]/.test(line!)).toBe(false); // plain ASCII: every byte above 0x7e escaped
  });
});
