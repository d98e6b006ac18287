import fs from 'node:fs';
import { openWebroot } from '@webroot/format';
const paths = fs.readFileSync(process.argv[3], 'utf8').trim().split('\n');
const N = 50000;
const w = openWebroot(process.argv[2]);
const db = w.db;
const q = {
  full: w.index.entryByPath,
  entryOnly: db.prepare('SELECT e.path, e.kind, e.mtime, e.mime, e.object_id FROM entries e WHERE e.path = ?').raw(),
  entryObj: db.prepare("SELECT e.path, e.kind, e.mtime, e.mime, o.id, o.offset, o.length, hex(o.hash), typeof(o.hash) = 'blob' AND length(o.hash) = 32 FROM entries e LEFT JOIN objects o ON o.id = e.object_id WHERE e.path = ?").raw(),
  entryObjRawHash: db.prepare("SELECT e.path, e.kind, e.mtime, e.mime, o.id, o.offset, o.length, o.hash FROM entries e LEFT JOIN objects o ON o.id = e.object_id WHERE e.path = ?").raw(),
};
for (let rep = 0; rep < 2; rep++) for (const [name, st] of Object.entries(q)) {
  const pick = Array.from({ length: N }, () => paths[(Math.random() * paths.length) | 0]);
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) st.all(pick[i]);
  const get = Number(process.hrtime.bigint() - t) / N / 1000;
  const t2 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) st.get(pick[i]);
  if (rep) console.log(name, 'all', get.toFixed(1), 'us; get', (Number(process.hrtime.bigint() - t2) / N / 1000).toFixed(1), 'us');
}
// full lookup on fresh paths
const pick = Array.from({ length: N }, () => paths[(Math.random() * paths.length) | 0]);
const t = process.hrtime.bigint();
for (let i = 0; i < N; i++) w.lookup(pick[i]);
console.log('lookup()', (Number(process.hrtime.bigint() - t) / N / 1000).toFixed(1), 'us');
