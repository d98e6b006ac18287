// fastify 5 with the webroot plugin below /assets.
// WEBROOT=site.webroot PORT=3000 node examples/app/fastify.mjs
import Fastify from 'fastify';
import { webrootPlugin } from '@webroot/httpd';

const app = Fastify();
await app.register(webrootPlugin, { file: process.env.WEBROOT ?? 'site.webroot', prefix: '/assets' });
app.get('/hello', async () => 'hello from fastify');
await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening ${app.server.address().port}`);
process.on('SIGTERM', () => app.close());
