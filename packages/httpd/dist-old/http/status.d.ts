export declare const REASONS: Record<number, string>;
export declare function statusLine(status: number): string;
//# sourceMappingURL=status.d.ts.map