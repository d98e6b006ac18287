import { describe, expect, it } from 'vitest';
import { escapeLogValue } from '../src/server/access-log.js';

// Header values arrive as latin1 text: one char per byte on the wire.
const wire = (bytes: number[]) => Buffer.from(bytes).toString('latin1');

describe('escapeLogValue: as nginx escapes log values (\\xHH), issue 9', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (X11; Linux x86_64)'],
    ['', ''],
    [wire([0x63, 0x61, 0x66, 0xc3, 0xa9]), 'caf\\xC3\\xA9'], // UTF-8 "café" as sent: its two bytes, not mojibake
    [wire([0xe9, 0x74, 0xe9]), '\\xE9t\\xE9'], // a latin1 byte
    [wire([0xff, 0x80]), '\\xFF\\x80'],
    ['say "hi"', 'say \\x22hi\\x22'],
    ['back\\slash', 'back\\x5Cslash'],
    ['tab\there', 'tab\\x09here'],
    ['del\x7f', 'del\\x7F'],
    ['line\r\nbreak', 'line\\x0D\\x0Abreak'],
    ['\u20ac', '\\xE2\\x82\\xAC'], // not from the wire (latin1 has no such char): its UTF-8 bytes
  ])('%j -> %j', (value, logged) => expect(escapeLogValue(value)).toBe(logged));
});
