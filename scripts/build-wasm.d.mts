// Types of scripts/build-wasm.mjs for the TypeScript that imports it (tests).
export declare const WASM_VARIANTS: Record<string, { sources: string[]; flags: string[] }>;
export declare const WASM_PACKAGES: string[];
export declare const WASM_OUT: string;
export declare function wasmToolchain(): string | null;
export declare function buildWasm(outDir?: string): Record<string, string>;
