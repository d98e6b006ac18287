// express 5 serving a webroot file below /static, next to its own routes.
// WEBROOT=site.webroot PORT=3000 node examples/app/express.mjs
import express from 'express';
import { serveWebroot } from '@webroot/httpd';

const app = express();
app.use('/static', serveWebroot(process.env.WEBROOT ?? 'site.webroot', { cacheControl: 'public, max-age=300' }));
app.get('/hello', (_req, res) => void res.send('hello from express'));
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close());
