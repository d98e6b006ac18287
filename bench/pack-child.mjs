// Packs a directory in a fresh process and reports time, input bytes and peak memory as JSON.
// Usage: node pack-child.mjs SRC OUT [--no-compress]
import { packDirectory } from '@webroot/mkroot';

const [src, out, flag] = process.argv.slice(2);
const s = await packDirectory(src, out, { compress: flag !== '--no-compress' });
console.log(JSON.stringify({ seconds: s.seconds, bytesIn: s.bytesIn, files: s.files, size: s.size, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
