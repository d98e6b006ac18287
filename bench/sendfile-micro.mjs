// The kernel side of sendfile(2) against one write, without the server: one process writes N responses
// (head + SIZE bytes of body) into a loopback socket that a second process (on CPU 1) drains, and prints
// the sender's CPU (user + system) per response, for one write of a prebuilt buffer and for the addon's
// send(head, MSG_MORE) + sendfile. Run pinned and under the bench lock, e.g.
//   SIZE=131072 N=7000 METHODS=write,sendfile,write,sendfile flock /tmp/bench.lock taskset -c 0 node bench/sendfile-micro.mjs
// FILE and OFFSET send from another file (e.g. a webroot, at an object's offset). Needs `pnpm build` (the addon).
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
const addon = createRequire(import.meta.url)('../packages/httpd/native/build/Release/webroot_sendfile.node');
const SIZE = Number(process.env.SIZE ?? 102400), N = Number(process.env.N ?? 20000);
const file = path.join(os.tmpdir(), `sendfile-micro-${SIZE}.bin`);
if (!fs.existsSync(file) || fs.statSync(file).size !== SIZE) fs.writeFileSync(file, Buffer.alloc(SIZE, 7));
const fd = fs.openSync(process.env.FILE ?? file, 'r'); const OFF = Number(process.env.OFFSET ?? 0);
const head = 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ' + SIZE + '\r\nETag: "abcdefabcdefabcdefab"\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nAccept-Ranges: bytes\r\nServer: webroot\r\nDate: Tue, 01 Dec 2026 14:14:33 GMT\r\n\r\n';
const whole = Buffer.concat([Buffer.from(head, 'latin1'), fs.readFileSync(file)]);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const srv = net.createServer((sock) => {
  const s = sock._handle.fd;
  const results = {};
  for (const method of (process.env.METHODS ?? 'write,sendfile,write,sendfile').split(',')) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      if (method === 'write') {
        let off = 0;
        while (off < whole.length) {
          try { off += fs.writeSync(s, whole, off, whole.length - off); } catch (e) { if (e.code !== 'EAGAIN') throw e; Atomics.wait(sleeper, 0, 0, 0.05); }
        }
      } else {
        let taken = addon.send(s, fd, OFF, SIZE, head);
        while (taken < head.length + SIZE) {
          if (taken < 0) throw new Error('errno ' + -taken);
          Atomics.wait(sleeper, 0, 0, 0.05);
          const at = taken - head.length; // head always fits here (empty buffer at start)
          const n = addon.send(s, fd, OFF + at, SIZE - at);
          taken += n < 0 ? 0 : n;
        }
      }
    }
    const d = process.cpuUsage(t0);
    (results[method] ??= []).push(((d.user + d.system) / N).toFixed(2));
  }
  console.log(`size ${SIZE}, ${N} responses: CPU µs per response (user+sys of the sender), runs:`, JSON.stringify(results));
  sock.destroy(); srv.close(); rx.kill();
});
let rx;
srv.listen(0, '127.0.0.1', () => {
  const port = srv.address().port;
  rx = spawn('taskset', ['-c', '1', process.execPath, '-e', `const s=require('net').connect(${port},'127.0.0.1');s.on('data',()=>{});s.on('error',()=>{})`], { stdio: 'inherit' });
});
