import { describe, expect, it } from 'vitest';
import { compareNodes, formatSummary, statusUrl, type NodeReport } from '../src/node-status.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const ok = (node: string, hosts: Record<string, string | null>): NodeReport => ({
  node,
  kind: 'ok',
  status: { format: 'webroot-status/1', hosts: Object.fromEntries(Object.entries(hosts).map(([h, digest]) => [h, { digest }])) },
});

describe('mkroot status: compareNodes and its lines', () => {
  const table: [string, NodeReport[], string | undefined, boolean, string[]][] = [
    ['all agree', [ok('n1', { 'example.com': A }), ok('n2', { 'example.com': A })], undefined, true, ['example.com: 2 of 2 nodes serve aaaaaaaaaaaa']],
    ['one differs', [ok('n1', { 'example.com': A }), ok('n2', { 'example.com': B }), ok('n3', { 'example.com': A })], undefined, false, ['example.com: DISAGREE: aaaaaaaaaaaa on n1, n3; bbbbbbbbbbbb on n2']],
    ['a host missing on one node', [ok('n1', { 'example.com': A, 'b.example': B }), ok('n2', { 'example.com': A })], undefined, false, ['b.example: DISAGREE: bbbbbbbbbbbb on n1; (nothing) on n2', 'example.com: 2 of 2 nodes serve aaaaaaaaaaaa']],
    ['--host keeps one host', [ok('n1', { 'example.com': A, 'b.example': B }), ok('n2', { 'example.com': A })], 'example.com', true, ['example.com: 2 of 2 nodes serve aaaaaaaaaaaa']],
    ['an unreachable node', [ok('n1', { 'example.com': A }), { node: 'n2', kind: 'unreachable', error: 'ECONNREFUSED' }], undefined, false, ['example.com: 1 of 1 nodes serve aaaaaaaaaaaa', 'n2: UNREACHABLE (ECONNREFUSED); check that the node runs with --status and the address is right']],
    ['nobody answers', [{ node: 'n1', kind: 'unreachable', error: 'x' }], undefined, false, ['n1: UNREACHABLE (x); check that the node runs with --status and the address is right']],
  ];
  for (const [name, reports, host, agree, lines] of table) {
    it(name, () => {
      const s = compareNodes(reports, host);
      expect(s.agree).toBe(agree);
      expect(formatSummary(s)).toEqual(lines);
    });
  }
  it('statusUrl adds /status and a scheme, keeps an explicit /status', () => {
    expect(statusUrl('http://10.0.0.1:9100')).toBe('http://10.0.0.1:9100/status');
    expect(statusUrl('10.0.0.1:9100')).toBe('http://10.0.0.1:9100/status');
    expect(statusUrl('http://h:1/status')).toBe('http://h:1/status');
    expect(() => statusUrl('http://')).toThrow(/is not a URL/);
  });
});
