import { WebrootWriter } from '@webroot/format/writer';

/** Layout of a generated large site: DIRECTORIES directories of FILES_PER_DIR small text files each. */
export const DIRECTORIES = 200;
export const FILES_PER_DIR = 1000;
export const MTIME = 1_700_000_000;

const FILLER = Buffer.alloc(256, 'the quick brown fox jumps over the lazy dog\n');

export const dirName = (d: number) => `/d${String(d).padStart(3, '0')}`;
export const filePath = (d: number, f: number) => `${dirName(d)}/f${String(f).padStart(4, '0')}.txt`;

/** The bytes of a generated file: its path first (so no two share bytes), then 20-200 bytes of filler. */
export function bulkBody(path: string): Buffer {
  let h = 0;
  for (let i = 0; i < path.length; i++) h = (h * 31 + path.charCodeAt(i)) >>> 0;
  return Buffer.concat([Buffer.from(`${path}\n`), FILLER.subarray(0, 20 + (h % 181))]);
}

/**
 * Writes a webroot of DIRECTORIES x FILES_PER_DIR generated files plus `extra`
 * (site path -> bytes, text/html for .html, else application/octet-stream),
 * straight through the writer: packing 200,000 files from disk would cost the
 * suite a minute of file creation for nothing this test is about.
 */
export function writeLargeWebroot(file: string, extra: Record<string, Buffer> = {}): { entries: number } {
  const w = new WebrootWriter(file);
  w.reserveIndex(DIRECTORIES * FILES_PER_DIR * 120);
  const dirs = new Set<string>(['/']);
  const addDirs = (p: string) => {
    for (let i = p.indexOf('/', 1); i !== -1; i = p.indexOf('/', i + 1)) dirs.add(p.slice(0, i));
  };
  try {
    for (let d = 0; d < DIRECTORIES; d++) {
      dirs.add(dirName(d));
      for (let f = 0; f < FILES_PER_DIR; f++) {
        const p = filePath(d, f);
        w.addFile({ path: p, mtime: MTIME, mime: 'text/plain; charset=utf-8', object: w.addObject(bulkBody(p)), variants: [] });
      }
    }
    for (const [p, bytes] of Object.entries(extra)) {
      addDirs(p);
      const mime = p.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/octet-stream';
      w.addFile({ path: p, mtime: MTIME, mime, object: w.addObject(bytes), variants: [] });
    }
    for (const d of dirs) w.addDirectory(d, MTIME);
    const r = w.finish({ generator: 'test large-site', created: MTIME });
    return { entries: r.entryCount };
  } catch (err) {
    w.abort();
    throw err;
  }
}
