/**
 * webrootPlugin: serveWebroot as a fastify plugin,
 * `fastify.register(webrootPlugin, { file, prefix: '/static' })`. It adds a
 * wildcard route for the prefix and everything below it, answers from the
 * webroot on the raw response (reply.hijack), and hands a path the webroot does
 * not have to fastify's not-found handler (or answers the site's 404 with
 * `fallthrough: false`).
 * Typed structurally, so this package does not depend on fastify.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { webrootResponder, type ServeWebrootOptions } from './serve-webroot.js';

export interface WebrootPluginOptions extends Omit<ServeWebrootOptions, 'prefix'> {
  /** The webroot file (or a symlink to one). */
  file: string;
  /** fastify's own register option: the routes are mounted below it. */
  prefix?: string;
}

interface FastifyRequestLike {
  raw: IncomingMessage;
}
interface FastifyReplyLike {
  raw: ServerResponse;
  hijack(): unknown;
  callNotFound(): unknown;
}
interface FastifyLike {
  prefix: string;
  route(options: {
    method: string[];
    url: string;
    exposeHeadRoute?: boolean;
    handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => unknown;
  }): unknown;
  addHook(name: 'onClose', hook: (instance: unknown, done: () => void) => void): unknown;
}

/**
 * GET and HEAD are served; the others are routed too so that a path the webroot
 * has answers 405 with Allow, and OPTIONS 204, as httpd does (RFC 9110 section
 * 15.5.6). The app's own routes for these paths win: fastify picks the most
 * specific route, and ours is a wildcard.
 */
const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH'];

export async function webrootPlugin(fastify: FastifyLike, options: WebrootPluginOptions): Promise<void> {
  if (typeof options?.file !== 'string') throw new TypeError('webrootPlugin: the option file (the webroot file to serve) is required');
  const { file, prefix: _prefix, ...rest } = options;
  // fastify prefixes our routes, but request.url keeps the whole path: the responder strips the prefix itself.
  const responder = webrootResponder(file, { ...rest, prefix: fastify.prefix || '/' });
  const handler = (request: FastifyRequestLike, reply: FastifyReplyLike) => {
    const r = responder.decide(request.raw, true);
    if (r === 'pass') return reply.callNotFound();
    reply.hijack();
    responder.send(reply.raw, r, request.raw);
    return undefined;
  };
  const routes = fastify.prefix ? ['/', '/*'] : ['/*'];
  for (const url of routes) fastify.route({ method: METHODS, url, exposeHeadRoute: false, handler });
  fastify.addHook('onClose', (_instance, done) => {
    responder.close();
    done();
  });
}
