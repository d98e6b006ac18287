/**
 * The host a request is for (RFC 9110 section 7.2, RFC 3986 section 3.2.2):
 * lower-cased, without port or trailing dot. Undefined when the value is not
 * a valid `uri-host [ ":" port ]`.
 */
export declare function normaliseHost(value: string): string | undefined;
//# sourceMappingURL=host.d.ts.map