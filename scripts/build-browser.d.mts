// Types of scripts/build-browser.mjs for the TypeScript that imports it (tests, bench).
export declare const BROWSER_SUBSTITUTES: Record<string, string>;
export declare function buildBrowser(opts?: {
  outdir?: string;
  minify?: boolean;
  extraEntries?: Record<string, string>;
}): Promise<string[]>;
