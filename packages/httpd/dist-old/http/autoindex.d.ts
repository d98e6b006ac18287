import type { Entry } from '@webroot/format';
export declare function escapeHtml(s: string): string;
/** An HTML directory listing (--autoindex) of `entries`, the children of the directory at `shownPath`. */
export declare function renderListing(shownPath: string, entries: readonly Entry[]): string;
//# sourceMappingURL=autoindex.d.ts.map