import { reportSendfileOnce } from '../io/sendfile.js';
import net from 'node:net';
import { DEFAULT_LIMITS, type ParseLimits } from '../http/parse-request.js';
import type { RepresentConfig } from '../http/represent.js';
import type { ResolveConfig, SiteLookup } from '../http/resolve.js';
import { BodySource } from '../io/body-source.js';
import { executorFor, type IoMode } from '../io/executors.js';
import { ObjectCache } from '../io/object-cache.js';
import type { Logger } from '../log.js';
import { Connection } from './connection.js';
import { acceptWithSharedReads, isBeingWritten, moveToSharedReads } from './fast-socket.js';
import { acceptHandles, handleWire } from './handle-wire.js';
import { SocketWire } from './wire.js';
import type { ServerContext, Timeouts } from './context.js';
import { Http1HeadCache } from './serialize-http1.js';

export interface HttpServerOptions {
  sites: SiteLookup;
  io: IoMode;
  cacheBytes: number;
  /** What resolve and represent are configured with (autoindex, Cache-Control). */
  plan: ResolveConfig & RepresentConfig;
  timeouts: Timeouts;
  limits?: ParseLimits;
  log: Logger;
  accessLog?: ServerContext['accessLog'];
  /** --redirect-http (see tls/redirect-http.ts). */
  redirect?: ServerContext['redirect'];
  /** Dynamic routes (loaded before the server listens). */
  routes?: ServerContext['routes'];
}

/** The static HTTP/1.1 server over `net`: one Connection per socket, sharing one context. */
export class HttpServer {
  readonly server: net.Server;
  /** More plain listening servers (extra [[listen]] entries) feeding the same Connections: see addListener. */
  private readonly extraServers: net.Server[] = [];
  private readonly ctx: ServerContext;
  /** The contexts of the other listeners and protocols (contextWith): a reconfigure reaches them too. */
  private readonly derived: ServerContext[] = [];
  private isDraining = false;
  private readonly io: IoMode;

  constructor(options: HttpServerOptions) {
    this.io = options.io;
    const cache = new ObjectCache(options.cacheBytes, isBeingWritten);
    this.ctx = {
      sites: options.sites,
      resolve: { autoindex: options.plan.autoindex },
      represent: { cacheControl: options.plan.cacheControl },
      scheme: 'http',
      limits: options.limits ?? DEFAULT_LIMITS,
      timeouts: options.timeouts,
      bodies: new BodySource(cache, executorFor(options.io)),
      cache,
      heads: new Http1HeadCache(),
      log: options.log,
      accessLog: options.accessLog,
      routes: options.routes,
      connections: new Set(),
      draining: () => this.isDraining,
      faultInjection: process.env.WEBROOT_FAULT_INJECTION === '1',
      redirect: options.redirect,
    };
    this.server = this.newListener();
    reportSendfileOnce(options.log);
  }

  private newListener(): net.Server {
    // allowHalfOpen: a client's FIN must not end our side before its responses are sent (see Connection.onEnd).
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket, false));
    // Once listening, connections are accepted on their handles (handle-wire.ts), else as sockets with the
    // shared read buffer (fast-socket.ts), where Node allows it; else by Node's own accept.
    server.once('listening', () => {
      const owned = acceptHandles(server, (handle) => {
        if (this.isDraining) (handle as { close(): void }).close();
        else new Connection((events) => handleWire(handle, events), this.ctx);
      });
      if (owned) return;
      acceptWithSharedReads(server, (socket) => {
        const wire = this.accept(socket, true);
        return (chunk) => wire?.received(chunk);
      });
    });
    return server;
  }

  /**
   * Another plain listener of this server (an extra `[[listen]]` entry): the
   * same context as `server` (sites, redirect, ACME challenges, drain), its
   * own listening socket. The caller listens on it; drain closes it.
   */
  addListener(): net.Server {
    const server = this.newListener();
    this.extraServers.push(server);
    return server;
  }

  /** A connection on `socket`; its wire, to which reads that are not 'data' events go (`received`). */
  private accept(socket: net.Socket, sharedReads: boolean): SocketWire | undefined {
    if (this.isDraining) {
      socket.destroy();
      return undefined;
    }
    let wire: SocketWire | undefined;
    new Connection((events) => (wire = new SocketWire(socket, events, !sharedReads)), this.ctx);
    return wire;
  }

  /**
   * An accept function for sockets that arrive another way (TLS sockets after
   * their handshake): the same Connection code and drain, as `scheme`, with
   * `decorate` applied to every response (HSTS). Their reads land in the
   * shared read buffer where the fast paths apply (moveToSharedReads), else
   * they are 'data' events; their HTTP/1.1 heads are cached apart from the
   * plain listener's.
   */
  acceptWith(overrides: Pick<ServerContext, 'scheme' | 'decorate'>): (socket: net.Socket) => void {
    const ctx = this.contextWith(overrides);
    return (socket) => {
      if (this.isDraining) return socket.destroy();
      // Assigned just below; no read is delivered before (reads are events of a later turn).
      let wire: SocketWire | undefined;
      const early = moveToSharedReads(socket, (chunk) => wire?.received(chunk));
      new Connection((events) => (wire = new SocketWire(socket, events, early === undefined)), ctx);
      for (const chunk of early ?? []) wire!.received(chunk);
    };
  }

  /** This server's context for another listener or protocol (the same sites, bodies, cache, drain state). */
  contextWith(overrides: Pick<ServerContext, 'scheme' | 'decorate'>): ServerContext {
    const ctx = { ...this.ctx, redirect: undefined, heads: new Http1HeadCache(), ...overrides };
    this.derived.push(ctx);
    return ctx;
  }

  get connectionCount(): number {
    return this.ctx.connections.size;
  }

  /** Connections answering a request now. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.ctx.connections) if (c.answering) n++;
    return n;
  }

  get cache(): ObjectCache {
    return this.ctx.cache;
  }

  /**
   * Swaps in new settings at once (a configuration reload): requests already
   * being answered keep what they resolved; the next request sees every new
   * value. A new cache size starts an empty cache.
   */
  reconfigure(options: Pick<HttpServerOptions, 'sites' | 'plan' | 'timeouts' | 'cacheBytes' | 'accessLog'>): void {
    const ctx = this.ctx;
    this.reconfigureContext(options);
    // The TLS listener's HTTP/1.1 and HTTP/2 contexts are copies of this one: the same step for them (a reload reaches HTTPS too).
    for (const d of this.derived) {
      d.sites = ctx.sites;
      d.resolve = ctx.resolve;
      d.represent = ctx.represent;
      d.timeouts = ctx.timeouts;
      d.accessLog = ctx.accessLog;
      d.cache = ctx.cache;
      d.bodies = ctx.bodies;
    }
  }

  private reconfigureContext(options: Pick<HttpServerOptions, 'sites' | 'plan' | 'timeouts' | 'cacheBytes' | 'accessLog'>): void {
    const ctx = this.ctx;
    ctx.sites = options.sites;
    ctx.resolve = { autoindex: options.plan.autoindex };
    ctx.represent = { cacheControl: options.plan.cacheControl };
    ctx.timeouts = options.timeouts;
    ctx.accessLog = options.accessLog;
    if (options.cacheBytes !== ctx.cache.budget) {
      const cache = new ObjectCache(options.cacheBytes, isBeingWritten);
      // The counters are cumulative (metrics): they carry over.
      cache.hits = ctx.cache.hits;
      cache.misses = ctx.cache.misses;
      ctx.cache = cache;
      ctx.bodies = new BodySource(cache, executorFor(this.io));
    }
  }

  /**
   * Stops accepting, closes idle connections, lets running responses finish for up to `timeoutMs`, then cuts the rest.
   * `idleGraceMs`: keep-alive connections get one more response, with `Connection: close` (see Connection.shutdown).
   */
  drain(timeoutMs: number, idleGraceMs = 0): Promise<void> {
    this.isDraining = true;
    this.server.close();
    for (const s of this.extraServers) s.close();
    for (const c of this.ctx.connections) c.shutdown(idleGraceMs);
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        if (this.ctx.connections.size === 0) return resolve();
        if (Date.now() >= deadline) {
          for (const c of this.ctx.connections) c.destroy();
          return resolve();
        }
        setTimeout(check, 20);
      };
      check();
    });
  }
}
