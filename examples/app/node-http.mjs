// Plain node:http: the whole site from a webroot file; a path it does not have is the site's 404.
// WEBROOT=site.webroot PORT=3000 node examples/app/node-http.mjs
import http from 'node:http';
import { serveWebroot } from '@webroot/httpd';

const server = http.createServer(serveWebroot(process.env.WEBROOT ?? 'site.webroot'));
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close());
