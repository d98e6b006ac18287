import type { Encoding } from '@webroot/format';
/**
 * Content-coding negotiation (RFC 9110 section 12.5.3) over the codings we
 * have. Returns the chosen coding, 'identity', or 'none' when even identity
 * is refused (the caller answers 406).
 */
export type EncodingChoice = Encoding | 'identity' | 'none';
/** Picks the representation for `header` among `available` variant codings (identity is always available). */
export declare function negotiateEncoding(header: string | undefined, available: readonly Encoding[]): EncodingChoice;
//# sourceMappingURL=negotiate.d.ts.map