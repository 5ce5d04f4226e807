// Types of scripts/build-wasm.mjs for the TypeScript that imports it (tests).
export declare const WASM_SOURCES: string[];
export declare const WASM_FLAGS: string[];
export declare const WASM_PACKAGES: string[];
export declare function wasmToolchain(): string | null;
export declare function buildWasm(out?: string): string;
