// A Node static-server peer for the benchmark: sirv or serve-static on node:http,
// with N cluster workers (0 = one process). Workers accept on the shared socket
// themselves (SCHED_NONE), the better setting for them on this machine.
// Usage: node node-peer.mjs sirv|serve-static DIR PORT WORKERS
import cluster from 'node:cluster';
import http from 'node:http';

const [kind, dir, port, workersArg] = process.argv.slice(2);
const workers = Number(workersArg ?? 0);

if (workers > 0 && cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < workers; i++) cluster.fork();
  let up = 0;
  cluster.on('listening', () => ++up === workers && console.log(`listening ${port}`));
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  let handler;
  if (kind === 'sirv') {
    const { default: sirv } = await import('sirv');
    const serve = sirv(dir, { etag: true, dev: false });
    handler = (req, res) => serve(req, res, () => { res.statusCode = 404; res.end('Not Found'); });
  } else {
    const { default: serveStatic } = await import('serve-static');
    const serve = serveStatic(dir, { etag: true, lastModified: true, index: ['index.html'] });
    handler = (req, res) => serve(req, res, () => { res.statusCode = 404; res.end('Not Found'); });
  }
  http.createServer(handler).listen(Number(port), '127.0.0.1', () => {
    if (!cluster.isWorker) console.log(`listening ${port}`);
  });
}
