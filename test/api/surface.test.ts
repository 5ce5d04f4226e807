// The public surface: the root is TransformerLens's (the model classes, the tensor constructors, the errors, what
// the api sketch puts there), everything else sits in namespaces named after TL's modules (docs/api.md). The root's
// value names are listed here, so adding one is a deliberate change; the type names are read with the TypeScript
// compiler from src/index.ts.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as root from "../../src/index.js";
import * as browserRoot from "../../src/browser/index.js";
import * as errors from "../../src/errors.js";
// @ts-expect-error the tensor buffer is `TensorStorage`: no `Storage` (a DOM built-in's name) at the root
import type { Storage } from "../../src/index.js";
// @ts-expect-error forward's return kinds are `ForwardReturnType`: no `ReturnType` (TypeScript's utility type)
import type { ReturnType } from "../../src/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SKETCH = fileURLToPath(new URL("../../../shared/api-sketch.d.ts", import.meta.url));

/** The root's values other than the errors (every class of src/errors.ts is at the root too: checked below). */
const ROOT_VALUES = [
  "ActivationCache",
  "FactoredMatrix",
  "Generator",
  "HookPoint",
  "HookedTransformer",
  "IOIDataset",
  "Tensor",
  "arange",
  "attribution",
  "backend",
  "cat",
  "circuits",
  "copySuppression",
  "datasets",
  "detectHead",
  "detectors",
  "einsum",
  "eye",
  "full",
  "ioi",
  "isGradEnabled",
  "jobs",
  "linalg",
  "linspace",
  "loading",
  "logitLens",
  "makeConfig",
  "manualSeed",
  "noGrad",
  "noGradSync",
  "ones",
  "onesLike",
  "patching",
  "pathPatching",
  "rand",
  "randint",
  "randn",
  "rearrange",
  "reduce",
  "repeat",
  "sae",
  "stack",
  "steering",
  "tensor",
  "tokenizer",
  "utils",
  "viz",
  "where",
  "zeros",
  "zerosLike",
];
/** Node-only namespaces (src/index.ts); the browser entry has its own `loading` and the page's loaders instead. */
const NODE_ONLY = ["jobs", "loading", "sae"];
const BROWSER_ONLY = [
  "WorkerModel",
  "createWorkerModel",
  "fromPretrained",
  "initBackend",
  "loadWasmBackend",
  "loading",
];

/** Names the api sketch declares at its root: values (function, class, namespace, const) and types. */
function sketchNames(): { values: string[]; types: string[] } {
  const src = readFileSync(SKETCH, "utf8");
  const names = (re: RegExp): string[] => [...src.matchAll(re)].map((m) => m[1]!);
  return {
    values: names(/^export declare (?:function|class|namespace|const) (\w+)/gm),
    types: names(/^export (?:type|interface) (\w+)/gm),
  };
}

/** Every name src/index.ts exports (values and types), as the compiler sees them. */
function rootExportNames(): { name: string; isType: boolean }[] {
  const options = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    types: [],
  };
  const program = ts.createProgram([`${ROOT}src/index.ts`], options);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(`${ROOT}src/index.ts`)!)!;
  const typeOnly = (s: ts.Symbol): boolean =>
    (s.declarations ?? []).some((d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly));
  return checker.getExportsOfModule(module).map((s) => {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    return { name: s.name, isType: typeOnly(s) || (target.flags & ts.SymbolFlags.Value) === 0 };
  });
}

describe("the package root", () => {
  it("exports exactly these values, besides the errors", () => {
    const names = Object.keys(root)
      .filter((k) => !(k in errors))
      .sort();
    expect(names).toEqual([...ROOT_VALUES].sort());
  });

  it("exports TlensError and every subclass of src/errors.ts", () => {
    const classes = Object.entries(errors);
    expect(classes.map(([k]) => k)).toEqual(
      expect.arrayContaining([
        "TlensError",
        "ShapeError",
        "IndexError",
        "LoadError",
        "HookError",
        "TokenizerError",
        "GradError",
      ]),
    );
    for (const [name, cls] of classes) {
      expect((root as Record<string, unknown>)[name], name).toBe(cls);
      expect(cls === errors.TlensError || cls.prototype instanceof errors.TlensError, name).toBe(true);
    }
  });

  it("keeps internals and shadowing names out", () => {
    for (const name of [
      "Storage",
      "TensorStorage",
      "ReturnType",
      "MT19937",
      "gatherLayout",
      "createWasmBackend",
      "WasmBackend",
      "WASM_MIN",
      "runner",
      "getBackend",
      "logitsToAveLogitDiff",
      "maskAttentionScores",
      "processStateDict",
    ]) {
      expect(name in root, name).toBe(false);
    }
  });

  it("has every name the api sketch declares at its root, values and types", () => {
    const sketch = sketchNames();
    expect(sketch.values).toEqual(
      expect.arrayContaining(["HookedTransformer", "detectHead", "IOIDataset", "FactoredMatrix", "noGrad", "patching"]),
    );
    for (const name of sketch.values) expect(name in root, name).toBe(true);
    const exported = rootExportNames();
    const types = new Set(exported.filter((e) => e.isType).map((e) => e.name));
    expect(sketch.types).toEqual(expect.arrayContaining(["Metric", "DiffMetric", "ModelInput", "HookFn"]));
    // the sketch's ReturnType is ForwardReturnType here (it would shadow TypeScript's own ReturnType)
    for (const name of sketch.types)
      expect(types.has(name === "ReturnType" ? "ForwardReturnType" : name), name).toBe(true);
    expect(types.has("ReturnType") || types.has("Storage")).toBe(false);
    // every value the compiler sees is one the module exports at run time
    expect(
      exported
        .filter((e) => !e.isType)
        .map((e) => e.name)
        .sort(),
    ).toEqual(Object.keys(root).sort());
  }, 60_000);
});

describe("the namespaces", () => {
  const has = (ns: object, members: string[]): void => {
    expect(Object.keys(ns)).toEqual(expect.arrayContaining(members));
  };

  it("mirror TransformerLens's modules with their key members", () => {
    has(root.patching, [
      "getActPatchResidPre",
      "getActPatchAttnHeadOutAllPos",
      "getActPatchAttnHeadPatternDestSrcPos",
      "genericActivationPatch",
    ]);
    has(root.pathPatching, [
      "getPathPatchHeadToFinalResidPost",
      "getPathPatchHeadToHeads",
      "headToFinalResid",
      "headToHeads",
    ]);
    expect(root.pathPatching.headToHeads).toBe(root.pathPatching.getPathPatchHeadToHeads);
    has(root.attribution, [
      "attrPatchResidPre",
      "attrPatchAttnOut",
      "attrPatchMlpOut",
      "attrPatchAttnHeadOutByPos",
      "attrPatchAttnHeadOutAllPos",
      "Graph",
      "evaluateCircuit",
    ]);
    has(root.detectors, [
      "detectHead",
      "getInductionHeadDetectionPattern",
      "prevAttnDetector",
      "inductionScore",
      "generateRepeatedTokens",
    ]);
    expect(root.detectors.detectHead).toBe(root.detectHead);
    has(root.circuits, [
      "fullOV",
      "fullQK",
      "ovCopyingScore",
      "allCompositionScores",
      "getCircuitScore",
      "getAllMinimalityScores",
    ]);
    has(root.logitLens, ["logitLens", "dlaByLayer", "dlaByHead", "dlaByNeuron", "dlaFull"]);
    has(root.steering, ["contrastiveSteeringVector", "addSteeringVector", "steeringSweep", "generateWithSteering"]);
    has(root.ioi, [
      "ioiMetric",
      "makeIoiData",
      "generateDataAndCaches",
      "runIoiPipeline",
      "ioiResultsJson",
      "backupNameMoverAnalysis",
      "checkCopyCircuit",
    ]);
    has(root.copySuppression, [
      "decomposeAttnScores",
      "attnScoresForQuerySideVectors",
      "getEffectiveEmbedding",
      "positionFlipPatching",
      "project",
    ]);
    has(root.datasets, ["IOIDataset", "generateIOIData", "PythonRandom", "NumpyRandomState", "DatasetError"]);
    expect(root.datasets.IOIDataset).toBe(root.IOIDataset);
    expect("MT19937" in root.datasets).toBe(false);
    has(root.viz, ["imshow", "line", "scatter", "bar", "hist", "attentionPatterns", "toHtml", "savePng"]);
    has(root.loading, ["readSafetensors", "hfConfigToTL", "downloadModel", "makeConfig"]);
    has(root.tokenizer, ["gpt2Tokenizer", "toTokens", "toStrTokens", "Llama2cTokenizer"]);
    has(root.backend, ["getBackend", "setBackend", "withBackend"]);
    expect(["createWasmBackend", "WasmBackend"].some((k) => k in root.backend)).toBe(false);
    has(root.utils, ["getActName", "Slice"]);
    has(root.sae, ["SAE"]);
    has(root.jobs, ["validateSpec", "InProcessExecutor"]);
  });

  it("answer as TransformerLens does", () => {
    expect(root.utils.getActName("pattern", 9)).toBe("blocks.9.attn.hook_pattern");
    expect(root.utils.getActName("scale", 2, "ln1")).toBe("blocks.2.ln1.hook_scale");
    expect(root.backend.getBackend().name).toMatch(/^(js|native|wasm)$/);
  });
});

describe("docs/api.md's example", () => {
  it("runs on toy-ioi: a [layer, pos] grid, and patching a position the two prompts share changes nothing", async () => {
    const { HookedTransformer, patching, ioi, utils } = root;
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const { dataset, cleanTokens, flippedTokens } = ioi.makeIoiData(model, { n: 8, seed: 1 });
    const [, cleanCache] = await model.runWithCache(cleanTokens);
    const metric = ioi.ioiMetric(model, dataset);
    const grid = await patching.getActPatchResidPre(model, flippedTokens, cleanCache, metric); // [layer, pos]
    expect(grid.shape).toEqual([model.cfg.nLayers, cleanTokens.shape[1]]);
    // the XYZ flip changes names only: the first token is the template's in both runs, so its clean resid_pre is the
    // corrupted one and the patched run is the corrupted run
    expect(cleanTokens.get(":", 0).toArray()).toEqual(flippedTokens.get(":", 0).toArray());
    const corrupted = metric(await model.forward(flippedTokens));
    expect(grid.get(0, 0).item()).toBeCloseTo(corrupted, 4);
    expect(utils.getActName("pattern", 9)).toBe("blocks.9.attn.hook_pattern");
  });
});

describe("the browser entry", () => {
  it("is the same root with the page's loaders instead of the Node-only namespaces", () => {
    const expected = [...ROOT_VALUES.filter((k) => !NODE_ONLY.includes(k)), ...BROWSER_ONLY].sort();
    expect(
      Object.keys(browserRoot)
        .filter((k) => !(k in errors))
        .sort(),
    ).toEqual(expected);
    expect(browserRoot.HookedTransformer).toBe(root.HookedTransformer);
    expect(browserRoot.patching).toBe(root.patching);
    expect(Object.keys(browserRoot.loading)).toEqual(
      expect.arrayContaining(["readSafetensors", "fetchPretrainedWeights"]),
    );
    expect("downloadModel" in browserRoot.loading).toBe(false);
  });
});

type Unused = Storage | ReturnType; // the two imports above exist to fail the typecheck if the names come back
export type { Unused };
