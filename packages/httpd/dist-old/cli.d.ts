import { Command } from 'commander';
export declare function createProgram(): Command;
export declare function main(argv: string[]): void;
//# sourceMappingURL=cli.d.ts.map