// Node app peers for bench/app.mjs, one process each:
//   express-webroot WEBROOT PORT      express 5 + serveWebroot
//   express-serve-static DIR PORT     express 5 + serve-static (what express.static is)
//   fastify-webroot WEBROOT PORT      fastify 5 + webrootPlugin
//   fastify-static DIR PORT           fastify 5 + @fastify/static
//   node-text - PORT                  bare node:http answering a 13-byte text
//   express-bare - PORT               express 5 answering every path with a fixed 1 KiB body (the framework's ceiling)
//   fastify-bare - PORT               fastify 5 likewise
import http from 'node:http';

const [kind, source, portArg] = process.argv.slice(2);
const port = Number(portArg);
const notFound = (_req, res) => {
  res.statusCode = 404;
  res.end('Not Found');
};

if (kind === 'express-webroot' || kind === 'express-serve-static') {
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  if (kind === 'express-webroot') {
    const { serveWebroot } = await import('@webroot/httpd');
    app.use(serveWebroot(source, { watch: false }));
  } else {
    const { default: serveStatic } = await import('serve-static');
    app.use(serveStatic(source, { etag: true, lastModified: true }));
  }
  app.use(notFound);
  http.createServer(app).listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
} else if (kind === 'fastify-webroot' || kind === 'fastify-static') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  if (kind === 'fastify-webroot') {
    const { webrootPlugin } = await import('@webroot/httpd');
    await app.register(webrootPlugin, { file: source, watch: false });
  } else {
    const { default: fastifyStatic } = await import('@fastify/static');
    await app.register(fastifyStatic, { root: source });
  }
  await app.listen({ port, host: '127.0.0.1' });
  console.log(`listening ${port}`);
} else if (kind === 'express-bare' || kind === 'fastify-bare') {
  // No file work at all: what the framework alone costs per request, the most any middleware in it can reach.
  const body = Buffer.alloc(1024, 97);
  const headers = { 'content-type': 'application/octet-stream', etag: '"ceiling"', 'cache-control': 'no-cache' };
  if (kind === 'express-bare') {
    const { default: express } = await import('express');
    const app = express();
    app.disable('x-powered-by');
    app.use((_req, res) => res.set(headers).end(body));
    http.createServer(app).listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
  } else {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false });
    app.get('/*', (_request, reply) => reply.headers(headers).send(body));
    await app.listen({ port, host: '127.0.0.1' });
    console.log(`listening ${port}`);
  }
} else if (kind === 'node-text') {
  const body = Buffer.from('Hello, world!');
  http
    .createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': body.length });
      res.end(body);
    })
    .listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
} else {
  console.error(`unknown peer ${kind}`);
  process.exit(2);
}
