import { describe, expect, it } from 'vitest';
import { normaliseHost } from '../src/http/host.js';

// port = *DIGIT (RFC 3986 section 3.2.3); a TCP port is 0-65535 (RFC 9293 section 3.1).
describe('normaliseHost: the port of Host must be a TCP port (RFC 3986 section 3.2.3, issue 9 item 6)', () => {
  it.each([
    ['x:0', 'x'],
    ['x:65535', 'x'],
    ['x:080', 'x'],
    ['x:', 'x'], // empty port: allowed by the grammar
    ['[::1]:65535', '[::1]'],
    ['[::1]:', '[::1]'],
  ])('%j is accepted as %j', (value, host) => expect(normaliseHost(value)).toBe(host));

  it.each(['x:65536', 'x:99999', 'x:4294967376', 'x:' + '9'.repeat(400), '[::1]:65536', '[::1]:99999', 'x:-1', 'x:+80', 'x:8 0', '[::1]80'])(
    '%j is invalid',
    (value) => expect(normaliseHost(value)).toBeUndefined(),
  );
});
