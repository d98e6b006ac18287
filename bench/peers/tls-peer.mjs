// The raw-`tls` baseline of the TLS benchmark: a tls.Server (TLS 1.2-1.3, ALPN http/1.1, setNoDelay) that
// answers every complete request head it reads (a blank line) with one prebuilt HTTP/1.1 response of FILE:
// no parsing, no lookup, no timers. It is the ceiling of Node's TLS for HTTPS/1.1 keep-alive, what our own
// HTTP/1.1 path over TLS is compared with. The fields are ours (so the comparison is of the path, not of
// field counts); Date is refreshed once a second.
// Usage: node tls-peer.mjs CERT KEY FILE PORT
import fs from 'node:fs';
import tls from 'node:tls';

const [cert, key, file, port] = process.argv.slice(2);
const body = fs.readFileSync(file);
let response;
const build = () => {
  const head = `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nAccept-Ranges: bytes\r\nETag: "0123456789abcdefghijkl"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nServer: tls-peer\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  response = Buffer.concat([Buffer.from(head, 'latin1'), body]);
};
build();
setInterval(build, 1000).unref();
const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }, (socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let tail = '';
  socket.on('data', (chunk) => {
    // Count the heads that end in this chunk (a head may be split over reads: keep the last 3 bytes).
    const s = tail + chunk.toString('latin1');
    let n = 0;
    for (let i = s.indexOf('\r\n\r\n'); i !== -1; i = s.indexOf('\r\n\r\n', i + 4)) n++;
    tail = s.slice(-3);
    for (let i = 0; i < n; i++) socket.write(response);
  });
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
process.on('SIGTERM', () => process.exit(0));
