import { describe, expect, it } from 'vitest';
import { mergeNotLoaded, readyResponse } from '../src/admin/health.js';
import { MetricsAggregator } from '../src/metrics/aggregate.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';
import { RequestHeaders, type RequestHead } from '../src/http/parse-request.js';
import { jsonLine } from '../src/server/access-log.js';
import type { Site } from '../src/vhosts/site.js';

const head = (method: string, target = '/'): RequestHead => {
  const headers = new RequestHeaders();
  headers.host = 'Example.COM:8080';
  headers['user-agent'] = 'ua "quoted"\u0007';
  return { method, target, minor: 1, headers, keepAlive: true, chunked: false, contentLength: 0, hostCount: 1 } as unknown as RequestHead;
};
const site = (name: string) => ({ name, webroot: { meta: { dataSha256: 'ab'.repeat(32), created: 1_700_000_000 } } }) as unknown as Site;
const gauges = { inFlight: 0, connections: 0, cacheHits: 0, cacheMisses: 0, cacheBytes: 0, swaps: { loaded: 1, refused: 0 }, sites: [] };

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics aggregation (primary)', () => {
  it('sums workers; a worker that exits keeps its counts, so no counter goes backwards', async () => {
    const a = new WorkerMetrics();
    const b = new WorkerMetrics();
    for (let i = 0; i < 3; i++) a.record(head('GET'), 200, 100, site('example.com'), 0.2);
    b.record(head('BREW'), 405, 0, undefined, 0.1);
    const agg = new MetricsAggregator();
    agg.report(1, a.toJson({ ...gauges, connections: 2 }));
    agg.report(2, b.toJson({ ...gauges, connections: 1 }));
    const before = (await agg.text()).body;
    expect(value(before, 'webroot_http_requests_total{host="example.com",method="GET",code_class="2xx"}')).toBe(3);
    expect(value(before, 'webroot_http_requests_total{host="none",method="other",code_class="4xx"}')).toBe(1);
    expect(value(before, 'webroot_http_response_bytes_total{host="example.com"}')).toBe(300);
    expect(value(before, 'webroot_http_request_duration_seconds_count')).toBe(4);
    expect(value(before, 'webroot_http_request_duration_seconds_bucket{le="0.0005"}')).toBe(4);
    expect(value(before, 'webroot_open_connections')).toBe(3);
    expect(value(before, 'webroot_swaps_total{result="loaded"}')).toBe(2);
    // Worker 1 dies and is replaced by worker 3, which starts from zero.
    agg.retire(1);
    agg.workerRestarts++;
    const c = new WorkerMetrics();
    c.record(head('GET'), 200, 10, site('example.com'), 0.2);
    agg.report(3, c.toJson(gauges));
    const after = (await agg.text()).body;
    expect(value(after, 'webroot_http_requests_total{host="example.com",method="GET",code_class="2xx"}')).toBe(4);
    expect(value(after, 'webroot_http_response_bytes_total{host="example.com"}')).toBe(310);
    expect(value(after, 'webroot_http_request_duration_seconds_count')).toBe(5);
    // Gauges of the dead worker go with it.
    expect(value(after, 'webroot_open_connections')).toBe(1);
    expect(value(after, 'webroot_worker_restarts_total')).toBe(1);
    expect(after).toMatch(/^webroot_build_info\{version="[^"]+",nodejs="v\d+/m);
    // A second death folds into the same retired totals.
    agg.retire(3);
    expect(value((await agg.text()).body, 'webroot_http_requests_total{host="example.com",method="GET",code_class="2xx"}')).toBe(4);
  });

  it('never labels by the client Host or path: host is the site that answered', async () => {
    const m = new WorkerMetrics();
    m.record(head('GET', '/secret/path?q=1'), 404, 0, undefined, 1);
    const agg = new MetricsAggregator();
    agg.report(1, m.toJson(gauges));
    const text = (await agg.text()).body;
    expect(text).not.toContain('example.com');
    expect(text).not.toContain('/secret');
  });
});

describe('readiness', () => {
  it.each([
    [{ workers: 2, notLoaded: [] }, 200, 'ready\n'],
    [{ workers: 0, notLoaded: [] }, 503, 'not ready: no worker is serving\n'],
    [{ workers: 1, notLoaded: [{ name: 'example.com', reason: 'truncated' }] }, 503, 'not ready: 1 not loaded\nexample.com: truncated\n'],
  ])('%j -> %d', (r, status, body) => {
    const res = readyResponse(r);
    expect(res.status).toBe(status);
    expect(res.body).toBe(body);
  });
  it('lists an entry reported by two workers once', () => {
    expect(mergeNotLoaded([{ notLoaded: [{ name: 'b', reason: 'x' }] }, { notLoaded: [{ name: 'b', reason: 'x' }, { name: 'a', reason: 'y' }] }])).toEqual([
      { name: 'a', reason: 'y' },
      { name: 'b', reason: 'x' },
    ]);
  });
});

describe('jsonLine (access log, one JSON object per line)', () => {
  it('has every field, splits path and query, and escapes what a client sent', () => {
    const line = jsonLine({ remote: '127.0.0.1', head: head('GET', '/a%20b?x=1&y="2"'), status: 200, bytes: 5, site: site('example.com'), durationMs: 1.23456 }, new Date(0));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      time: '1970-01-01T00:00:00.000Z',
      host: 'example.com',
      method: 'GET',
      path: '/a%20b',
      query: 'x=1&y="2"',
      status: 200,
      bytes: 5,
      duration: 1.235,
      protocol: 'HTTP/1.1',
      remote: '127.0.0.1',
      user_agent: 'ua "quoted"\u0007',
      referer: null,
      digest: 'ab'.repeat(32),
    });
  });
  it('a connection-level error has no request fields', () => {
    expect(JSON.parse(jsonLine({ remote: undefined, head: null, status: 400, bytes: 12, site: undefined, durationMs: 0 }))).toMatchObject({ host: null, method: null, path: null, status: 400, digest: null });
  });
});
