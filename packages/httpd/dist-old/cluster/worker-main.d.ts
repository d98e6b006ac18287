export {};
//# sourceMappingURL=worker-main.d.ts.map