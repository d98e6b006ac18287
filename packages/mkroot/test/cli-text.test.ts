import { describe, expect, it } from 'vitest';
import { escapeControls } from '../src/escape-text.js';
import { editDistance, suggestCommand } from '../src/suggest-command.js';

const COMMANDS = ['build', 'ls', 'cat', 'info', 'verify', 'diff', 'rules', 'test-rules', 'keygen', 'publish', 'status', 'help'];

describe('suggestCommand: the nearest command for a mistyped first word', () => {
  it.each([
    ['biuld', 'build'], // transposition: one edit
    ['buidl', 'build'],
    ['buld', 'build'],
    ['lss', 'ls'],
    ['sl', 'ls'],
    ['cta', 'cat'],
    ['inof', 'info'],
    ['verfy', 'verify'],
    ['veriyf', 'verify'],
    ['dif', 'diff'],
    ['LS', 'ls'],
    ['site', undefined],
    ['public', undefined], // two edits from publish: a site directory, not a typo
    ['publsh', 'publish'],
    ['releases', undefined],
    ['x', undefined],
    ['abcd', undefined],
  ])('%j -> %j', (word, expected) => expect(suggestCommand(word, COMMANDS)).toBe(expected));

  it.each([
    ['', '', 0],
    ['build', 'build', 0],
    ['biuld', 'build', 1],
    ['lss', 'ls', 1],
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3], // optimal string alignment: no edit of a transposed pair
  ])('editDistance(%j, %j) = %i', (a, b, d) => expect(editDistance(a, b)).toBe(d));
});

describe('escapeControls: names shown on a terminal cannot fake lines or send commands', () => {
  it.each([
    ['/plain/name.html', '/plain/name.html'],
    ['/café ü.html', '/café ü.html'], // printable non-ASCII stays
    ['/a\nb.txt', '/a\\nb.txt'],
    ['/a\r\nfake line', '/a\\r\\nfake line'],
    ['/tab\there', '/tab\\there'],
    ['/esc\x1b[31mred', '/esc\\x1b[31mred'],
    ['/nul\x00', '/nul\\x00'],
    ['/del\x7f', '/del\\x7f'],
    ['/c1\u0085\u009b', '/c1\\u0085\\u009b'],
    ['/back\\slash', '/back\\\\slash'], // so that an escaped name reads back unambiguously
  ])('%j -> %j', (input, shown) => expect(escapeControls(input)).toBe(shown));
});
