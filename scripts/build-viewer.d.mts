// Types of scripts/build-viewer.mjs for the TypeScript that imports it (tests, the test setup).
export declare const VIEWER_ENTRY: string;
export declare const VIEWER_MODULE: string;
export declare function bundleViewer(): string;
export declare function buildViewer(opts?: { dist?: boolean }): string[];
