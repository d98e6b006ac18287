import fs from 'node:fs';
import { openWebroot } from '@webroot/format';
const file = process.argv[2];
const paths = fs.readFileSync(process.argv[3], 'utf8').trim().split('\n');
const N = 50000;
const w = openWebroot(file);
const buf = Buffer.allocUnsafe(65536);
for (const cs of (process.argv[4] ?? '-4096').split(',')) {
  w.db.pragma(`cache_size = ${cs}`);
  // warm the SQLite cache with one round, then measure a fresh random sample
  for (let r = 0; r < 2; r++) {
    const pick = Array.from({ length: N }, () => paths[(Math.random() * paths.length) | 0]);
    let t = process.hrtime.bigint();
    const entries = [];
    for (let i = 0; i < N; i++) entries.push(w.lookup(pick[i]));
    const tl = Number(process.hrtime.bigint() - t) / N;
    t = process.hrtime.bigint();
    for (const e of entries) w.readSync(e.object, 0, e.object.length, buf);
    const tr = Number(process.hrtime.bigint() - t) / N;
    if (r === 1) console.log(`cache_size ${cs}: lookup ${(tl / 1000).toFixed(1)} us, read ${(tr / 1000).toFixed(1)} us, rss ${process.memoryUsage().rss >> 20} MiB`);
  }
}
