// Types of scripts/test-tools.mjs for the TypeScript that imports it (tests).
export declare const TOOLS: { need: string; ok: () => boolean; packages: string[] }[];
/** The Python that runs `jupyter` (its shebang); "python3" when jupyter is not found. */
export declare function jupyterPython(): string;
