// The bare node:http2 baseline of the TLS benchmark: answers every GET of FILE from memory with
// stream.respond + end(buffer) (304 for a matching If-None-Match), TLS 1.3 with the given pair,
// with the same response fields as ours (so the comparison is of the pipeline, not of field counts).
// Usage: node h2-peer.mjs CERT KEY FILE PORT
import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';

const [cert, key, file, port] = process.argv.slice(2);
const body = fs.readFileSync(file);
const etag = `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
const lastModified = new Date(fs.statSync(file).mtimeMs).toUTCString();
const common = { etag, 'last-modified': lastModified, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', server: 'node' };
const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), allowHTTP1: false });
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  if (headers['if-none-match'] === etag) stream.respond({ ':status': 304, ...common }, { endStream: true });
  else {
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': body.length, 'accept-ranges': 'bytes', ...common });
    stream.end(body);
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
process.on('SIGTERM', () => process.exit(0));
