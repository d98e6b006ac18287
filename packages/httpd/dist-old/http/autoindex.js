import { formatHttpDate } from './dates.js';
const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s) {
    return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
/** An HTML directory listing (--autoindex) of `entries`, the children of the directory at `shownPath`. */
export function renderListing(shownPath, entries) {
    const rows = entries.map((e) => {
        const name = e.path.slice(e.path.lastIndexOf('/') + 1) + (e.kind === 'directory' ? '/' : '');
        const size = e.kind === 'file' ? String(e.object.length) : '-';
        return `<tr><td><a href="${escapeHtml(encodeURIComponent(name.replace(/\/$/, '')) + (e.kind === 'directory' ? '/' : ''))}">${escapeHtml(name)}</a></td><td>${size}</td><td>${formatHttpDate(e.mtime)}</td></tr>`;
    });
    const up = shownPath === '/' ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>';
    const title = `Index of ${escapeHtml(shownPath)}`;
    return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><table><tr><th>Name</th><th>Size</th><th>Modified</th></tr>${up}${rows.join('')}</table></body></html>\n`;
}
//# sourceMappingURL=autoindex.js.map