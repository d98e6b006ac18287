/** HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate out, all three formats in. */
/** IMF-fixdate of a time in whole seconds since the epoch. */
export declare function formatHttpDate(seconds: number): string;
/** The current time as an IMF-fixdate, recomputed at most once per second. */
export declare function currentHttpDate(): string;
export declare function nowSeconds(): number;
/**
 * Parses an HTTP-date into seconds since the epoch, or undefined when it is
 * not one (RFC 9110 section 13.1.3: an invalid date makes the condition be ignored).
 * Two-digit RFC 850 years are read per RFC 9110 section 5.6.7 (more than 50 years ahead means the past century).
 */
export declare function parseHttpDate(value: string | undefined): number | undefined;
//# sourceMappingURL=dates.d.ts.map