import type { RequestHead } from '../http/parse-request.js';
import type { Site } from '../vhosts/site.js';

/** Request-duration buckets in seconds: a cached 1 KB answer takes ~20 us here, a 20 MB one ~0.3 s. */
export const DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** One metric in prom-client's JSON form (Registry.getMetricsAsJSON), which AggregatorRegistry.aggregate sums. */
export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum' | 'max' | 'first';
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

/** What a worker reports to the primary: its metrics, and what it has loaded (for /readyz). */
export interface WorkerReport {
  metrics: MetricJson[];
  notLoaded: { name: string; reason: string }[];
}

/** The method label's values, by index: what `methodIndex` returns. */
const METHOD_LABELS = ['GET', 'HEAD', 'OPTIONS', 'other', 'none'] as const;
/** The status-class label's values, by `Math.floor(status / 100)` (0 and anything past 5: other). */
const CLASS_LABELS = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function methodIndex(head: RequestHead | null): number {
  if (head === null) return 4;
  const m = head.method;
  return m === 'GET' ? 0 : m === 'HEAD' ? 1 : m === 'OPTIONS' ? 2 : 3;
}

/** One site's counters: responses by method and status class, and body bytes. */
interface SiteCounters {
  readonly responses: Float64Array;
  bytes: number;
}

/**
 * A worker's counters, kept as plain numbers on the request path (a labelled
 * prom-client inc costs ~1.2 us) and turned into prom-client's JSON form when
 * the primary asks. Labels are bounded: host is the configured site that
 * answered (never the client's Host), method one of GET/HEAD/OPTIONS/other,
 * status a class (2xx...). Counters are found by the site's name (the same
 * string object on every request, so its hash is computed once) and indexed
 * by method and class: a key string built per request and hashed in a Map
 * cost 1-3 us a response (measured in-process), a tenth of a keep-alive
 * 1 KB response.
 */
export class WorkerMetrics {
  private readonly sites = new Map<string, SiteCounters>();
  private readonly buckets = new Float64Array(DURATION_BUCKETS.length);
  private durationSum = 0;
  private durationCount = 0;

  record(head: RequestHead | null, status: number, bytes: number, site: Site | undefined, durationMs: number): void {
    const host = site === undefined ? 'none' : site.name;
    let c = this.sites.get(host);
    if (c === undefined) {
      c = { responses: new Float64Array(METHOD_LABELS.length * CLASS_LABELS.length), bytes: 0 };
      this.sites.set(host, c);
    }
    const cls = Math.floor(status / 100);
    c.responses[methodIndex(head) * CLASS_LABELS.length + (cls >= 1 && cls <= 5 ? cls : 0)]!++;
    c.bytes += bytes;
    const seconds = durationMs / 1000;
    // One count in the first bucket that holds it (made cumulative when reported): fast answers are in bucket 0.
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    if (i < DURATION_BUCKETS.length) this.buckets[i]!++;
    this.durationSum += seconds;
    this.durationCount++;
  }

  /** Counters and histograms (kept by the primary after this worker exits) then gauges (dropped with it). */
  toJson(gauges: { inFlight: number; connections: number; cacheHits: number; cacheMisses: number; cacheBytes: number; swaps: { loaded: number; refused: number }; sites: { host: string; digest: string; created: number }[] }): MetricJson[] {
    const requests: MetricJson['values'] = [];
    const bytes: MetricJson['values'] = [];
    for (const [host, c] of this.sites) {
      for (let i = 0; i < c.responses.length; i++) {
        const value = c.responses[i]!;
        if (value > 0) requests.push({ value, labels: { host, method: METHOD_LABELS[Math.floor(i / CLASS_LABELS.length)]!, code_class: CLASS_LABELS[i % CLASS_LABELS.length]! } });
      }
      if (c.bytes > 0) bytes.push({ value: c.bytes, labels: { host } });
    }
    let cumulative = 0;
    const histogram: MetricJson['values'] = DURATION_BUCKETS.map((le, i) => ({ value: (cumulative += this.buckets[i]!), labels: { le }, metricName: 'webroot_http_request_duration_seconds_bucket' }));
    histogram.push(
      { value: this.durationCount, labels: { le: '+Inf' }, metricName: 'webroot_http_request_duration_seconds_bucket' },
      { value: this.durationSum, labels: {}, metricName: 'webroot_http_request_duration_seconds_sum' },
      { value: this.durationCount, labels: {}, metricName: 'webroot_http_request_duration_seconds_count' },
    );
    return [
      { name: 'webroot_http_requests_total', help: 'Responses sent, by site, method and status class.', type: 'counter', aggregator: 'sum', values: requests },
      { name: 'webroot_http_request_duration_seconds', help: 'Time from a request head being parsed to its response being handed to the kernel.', type: 'histogram', aggregator: 'sum', values: histogram },
      { name: 'webroot_http_response_bytes_total', help: 'Body bytes sent, by site.', type: 'counter', aggregator: 'sum', values: bytes },
      { name: 'webroot_object_cache_hits_total', help: 'Bodies read from the in-memory object cache.', type: 'counter', aggregator: 'sum', values: [{ value: gauges.cacheHits, labels: {} }] },
      { name: 'webroot_object_cache_misses_total', help: 'Cacheable bodies that had to be read from the webroot file.', type: 'counter', aggregator: 'sum', values: [{ value: gauges.cacheMisses, labels: {} }] },
      {
        name: 'webroot_swaps_total',
        help: 'Webroot files opened for a vhost entry or mount, by result (loaded, refused).',
        type: 'counter',
        aggregator: 'sum',
        values: [
          { value: gauges.swaps.loaded, labels: { result: 'loaded' } },
          { value: gauges.swaps.refused, labels: { result: 'refused' } },
        ],
      },
      { name: 'webroot_http_requests_in_flight', help: 'Requests being answered.', type: 'gauge', aggregator: 'sum', values: [{ value: gauges.inFlight, labels: {} }] },
      { name: 'webroot_open_connections', help: 'Open client connections.', type: 'gauge', aggregator: 'sum', values: [{ value: gauges.connections, labels: {} }] },
      { name: 'webroot_object_cache_bytes', help: 'Bytes held by the object caches.', type: 'gauge', aggregator: 'sum', values: [{ value: gauges.cacheBytes, labels: {} }] },
      {
        name: 'webroot_site_info',
        help: 'One per loaded site and mount: which webroot (data digest, creation time) it serves.',
        type: 'gauge',
        aggregator: 'max',
        values: gauges.sites.map((s) => ({ value: 1, labels: { host: s.host, digest: s.digest, created: new Date(s.created * 1000).toISOString() } })),
      },
    ];
  }
}

/** Whether the primary keeps a metric of a worker that exited (counters and histograms only go up). */
export const isCumulative = (m: MetricJson) => m.type === 'counter' || m.type === 'histogram';
