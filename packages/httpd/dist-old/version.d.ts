export declare const VERSION: string;
//# sourceMappingURL=version.d.ts.map