/**
 * Request-target normalisation (RFC 9112 section 3.2, RFC 3986 sections 2.1 and 5.2.4).
 * Produces a site path that can only name something inside the site: it is
 * looked up in the webroot index, never on the filesystem.
 */
export type TargetOutcome = {
    kind: 'path';
    path: string;
    rawPath: string;
    query: string;
    authority?: string;
} | {
    kind: 'asterisk';
} | {
    kind: 'bad';
    reason: string;
};
/** Percent-decodes to UTF-8 text; undefined for bad escapes or invalid (including overlong) UTF-8. */
export declare function percentDecode(s: string): string | undefined;
/**
 * Removes dot segments and empty segments from a decoded absolute path.
 * Returns undefined when `..` would climb above the root.
 */
export declare function removeDotSegments(path: string): string | undefined;
/** Parses a request-target: origin-form, absolute-form (http/https) or asterisk-form. */
export declare function parseTarget(target: string): TargetOutcome;
//# sourceMappingURL=target.d.ts.map