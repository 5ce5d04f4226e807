// Lint rules: the layering of layers.json (an import may only go down), no import cycles, no explicit `any`, and
// size limits as warnings that the output counts. Formatting is prettier's (npm run format:check), not eslint's.
import { readFileSync } from "node:fs";
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

const { root, layers } = JSON.parse(readFileSync(new URL("./layers.json", import.meta.url), "utf8"));
const asPath = (part) => `./${root}/${part}`;

/** One zone per layer: its files may not import any part of a later layer. */
const layerZones = layers.slice(0, -1).map((group, i) => ({
  target: group.map(asPath),
  from: layers.slice(i + 1).flat().map(asPath),
  message: `layers.json: ${group.join("/")} sits below ${layers.slice(i + 1).flat().join(", ")}; imports go down only (docs/architecture.md)`,
}));

const TLENS_ERROR = "a TlensError subclass of the layer (src/errors.ts: BackendError, LoadError, ...)";
const BUILTIN_ERRORS = ["NewExpression", "CallExpression"].map((node) => ({
  selector: `${node}[callee.name=/^(Error|TypeError|RangeError)$/]`,
  message: `throw ${TLENS_ERROR}, not a built-in Error`,
}));
const ERROR_SUBCLASS = {
  selector: "ClassDeclaration[superClass.name=/^(Error|TypeError|RangeError)$/]",
  message: `extend ${TLENS_ERROR}, not a built-in Error`,
};

export default tseslint.config(
  { ignores: ["dist/**", "build/**", "node_modules/**", "docs/api/**", "coverage/**", "native/**"] },
  {
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser },
    plugins: { "@typescript-eslint": tseslint.plugin, "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json" })],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/extensions": [".ts"],
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": ["error", { zones: layerZones }],
      "max-lines": ["warn", { max: 400, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["warn", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  // every error src/ throws is a TlensError subclass (src/errors.ts, docs/architecture.md "Errors"): no built-in
  // Error, TypeError or RangeError, and no class of its own straight on Error — except the lab page's
  // (src/lab/app/errors.ts: its modules are served alone and cannot import src/errors.ts)
  {
    files: ["src/**/*.ts"],
    ignores: ["src/errors.ts"],
    rules: { "no-restricted-syntax": ["error", ...BUILTIN_ERRORS, ERROR_SUBCLASS] },
  },
  { files: ["src/lab/app/**/*.ts"], rules: { "no-restricted-syntax": ["error", ...BUILTIN_ERRORS] } },
  // tests and benches read whole scenarios top to bottom; the size limits are for the library
  { files: ["test/**/*.ts", "bench/**/*.ts", "examples/**/*.ts"], rules: { "max-lines": "off", "max-lines-per-function": "off" } },
);
