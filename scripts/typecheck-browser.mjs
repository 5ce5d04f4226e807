// `npm run typecheck`, browser half: tsconfig.browser.json (lib DOM, no Node types) over the browser build's entries,
// resolving imports as the browser build does: each Node-only module of BROWSER_SUBSTITUTES (build-browser.mjs) is
// swapped for its stand-in, so the check sees what esbuild bundles and a Node type reached from the browser entry
// fails here. A stand-in's own `import type` of the module it replaces (to be typed against it) is kept, and so are
// type-only imports; what they reach is not bundled, so diagnostics are reported for the bundled files only
// (tsconfig.json checks the rest, with Node's types).
//
//   node scripts/typecheck-browser.mjs      exit 1 and tsc's diagnostics on any error
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { BROWSER_SUBSTITUTES } from "./build-browser.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const configPath = path.join(root, "tsconfig.browser.json");

/** Parsed tsconfig.browser.json; exits with its diagnostics when it does not parse. */
function readConfig() {
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = error
    ? { errors: [error] }
    : ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath);
  if (parsed.errors.length) report(parsed.errors);
  return parsed;
}

function report(diagnostics) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  console.error(`tsconfig.browser.json: ${diagnostics.length} error(s) in what the browser build bundles`);
  process.exit(1);
}

const parsed = readConfig();
const swaps = new Map(
  Object.entries(BROWSER_SUBSTITUTES).map(([from, to]) => [path.join(root, from), path.join(root, to)]),
);
const shimOf = new Map([...swaps].map(([from, to]) => [to, from]));
const host = ts.createCompilerHost(parsed.options);
const cache = ts.createModuleResolutionCache(root, (f) => host.getCanonicalFileName(f), parsed.options);
/** containing file → the files its imports resolve to, as bundled (a stand-in's import of its original and
 *  type-only imports left out: esbuild drops both) */
const edges = new Map();

/** Whether an import or export names types only (`import type`, `export type`, every specifier `type`, `import("x")` in a type). */
function typeOnly(lit) {
  const d = lit.parent;
  if (ts.isLiteralTypeNode(d) && ts.isImportTypeNode(d.parent)) return true;
  if (ts.isImportDeclaration(d)) {
    const c = d.importClause;
    if (!c) return false;
    const named = c.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : null;
    return c.isTypeOnly || (!c.name && named !== null && named.length > 0 && named.every((e) => e.isTypeOnly));
  }
  if (ts.isExportDeclaration(d)) {
    const named = d.exportClause && ts.isNamedExports(d.exportClause) ? d.exportClause.elements : null;
    return d.isTypeOnly || (named !== null && named.length > 0 && named.every((e) => e.isTypeOnly));
  }
  return false;
}

host.resolveModuleNameLiterals = (literals, containingFile, redirected, options, sourceFile) => {
  const from = path.resolve(containingFile);
  const out = edges.get(from) ?? new Set();
  edges.set(from, out);
  return literals.map((lit) => {
    const mode = ts.getModeForUsageLocation(sourceFile, lit, options);
    const r = ts.resolveModuleName(lit.text, containingFile, options, host, cache, redirected, mode);
    if (!r.resolvedModule) return r;
    const target = path.resolve(r.resolvedModule.resolvedFileName);
    if (shimOf.get(from) === target) return r; // the stand-in typed against its original: not bundled
    const swapped = swaps.get(target);
    if (!typeOnly(lit)) out.add(swapped ?? target);
    return swapped ? { ...r, resolvedModule: { ...r.resolvedModule, resolvedFileName: swapped } } : r;
  });
};

const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, host });
const bundled = new Set(parsed.fileNames.map((f) => path.resolve(f)));
for (const f of bundled) for (const g of edges.get(f) ?? []) bundled.add(g);
const diagnostics = [
  ...ts.getConfigFileParsingDiagnostics(parsed),
  ...program.getOptionsDiagnostics(),
  ...program.getGlobalDiagnostics(),
  ...program
    .getSourceFiles()
    .filter((sf) => bundled.has(path.resolve(sf.fileName)))
    .flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
];
if (diagnostics.length) report(diagnostics);
console.log(`tsconfig.browser.json: ${bundled.size} bundled files type-check without Node types`);
