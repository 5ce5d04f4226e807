// IOIDataset against every golden file in ../shared/ioi/golden (made by the Python originals): every field,
// exactly — key order of prompt objects and word_idx included.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as C from "../../src/datasets/ioi-constants.js";
import { IOIDataset, flipSeed, parseFlip, type IOIPromptType } from "../../src/datasets/ioi.js";
import { DatasetError } from "../../src/datasets/errors.js";
import { pythonIntSetOrder } from "../../src/datasets/python-set.js";
import { TlensError } from "../../src/errors.js";

const G = fileURLToPath(new URL("../../../shared/ioi/golden/", import.meta.url));
const load = (f: string) => JSON.parse(readFileSync(G + f, "utf8")) as Golden;

interface Golden {
  params: {
    prompt_type: string;
    N: number;
    seed: number;
    prepend_bos: boolean;
    symmetric: boolean;
    flip?: string;
    flip_seed?: number;
  };
  N: number;
  templates: string[];
  sentences: string[];
  ioi_prompts: Record<string, unknown>[];
  templates_by_prompt: string[];
  groups: number[][];
  word_idx: Record<string, number[]>;
  toks: number[][];
  max_len: number;
  io_tokenIDs: number[];
  s_tokenIDs: number[];
}

function rowsOf(ds: IOIDataset): number[][] {
  const [n, l] = ds.toks.shape as [number, number];
  const d = Array.from(ds.toks.dataSync());
  return Array.from({ length: n }, (_, i) => d.slice(i * l, (i + 1) * l));
}

function expectMatches(ds: IOIDataset, g: Golden): void {
  expect(ds.N).toBe(g.N);
  expect(ds.templates).toEqual(g.templates);
  expect(ds.sentences).toEqual(g.sentences);
  expect(JSON.stringify(ds.ioiPrompts)).toBe(JSON.stringify(g.ioi_prompts)); // values and key order
  expect(ds.templatesByPrompt).toEqual(g.templates_by_prompt);
  expect(ds.groups).toEqual(g.groups);
  expect(Object.keys(ds.wordIdx)).toEqual(Object.keys(g.word_idx));
  for (const k of Object.keys(g.word_idx)) expect(ds.wordIdx[k], k).toEqual(g.word_idx[k]);
  expect(ds.toks.dtype).toBe("int32");
  expect(ds.toks.shape).toEqual([g.toks.length, g.toks[0]!.length]);
  expect(rowsOf(ds)).toEqual(g.toks);
  expect(ds.maxLen).toBe(g.max_len);
  expect(ds.ioTokenIDs).toEqual(g.io_tokenIDs);
  expect(ds.sTokenIDs).toEqual(g.s_tokenIDs);
}

function base(g: Golden): IOIDataset {
  const p = g.params;
  return new IOIDataset({
    promptType: p.prompt_type as IOIPromptType,
    N: p.N,
    seed: p.seed,
    prependBos: p.prepend_bos,
    symmetric: p.symmetric,
  });
}

const BASES = ["mixed_N100_seed1.json", "symmetric_mixed_N150_seed42_bos.json"];

describe("constants", () => {
  it("embed constants.json verbatim", () => {
    const json = load("constants.json") as unknown as Record<string, string[]>;
    expect(Object.keys(json).sort()).toEqual(Object.keys(C).sort());
    for (const [k, v] of Object.entries(json)) expect((C as Record<string, readonly string[]>)[k], k).toEqual(v);
  });

  it("ABBA templates are BABA with the first [B] and first [A] swapped", () => {
    const swap = (t: string) => t.replace("[B]", "[X]").replace("[A]", "[B]").replace("[X]", "[A]");
    expect(C.BABA_TEMPLATES.map(swap)).toEqual(C.ABBA_TEMPLATES);
    expect(C.BABA_LATE_IOS.map(swap)).toEqual(C.ABBA_LATE_IOS);
    expect(C.BABA_EARLY_IOS.map(swap)).toEqual(C.ABBA_EARLY_IOS);
  });
});

describe.each(BASES)("golden %s", (file) => {
  const g = load(file);
  it("every field matches", () => expectMatches(base(g), g));
});

describe.each(BASES)("golden flip ABB -> BAB, BAB -> ABB of %s", (file) => {
  const g = load(file.replace(".json", "__flip_ABB-BAB_BAB-ABB.json"));
  it("every field matches; seed and word_idx as the spec says", () => {
    const clean = base(load(file));
    const flipped = clean.genFlippedPrompts(g.params.flip!);
    expect(flipped.seed).toBe(g.params.flip_seed);
    expect(flipped.hasBeenFlipped).toBe(true);
    expectMatches(flipped, g);
    expect(flipped.wordIdx).toEqual(clean.wordIdx); // inherited
  });
});

describe.each(BASES)("golden XYZ flip (cautils, letters X, Y, Z) of %s", (file) => {
  const g = load(
    "xyz_flip/callum_cautils_hashseed7_letter_order_XYZ/" + file.replace(".json", "__flip_ABB-XYZ_BAB-XYZ.json"),
  );
  it("every field matches", () => {
    const flipped = base(load(file)).genFlippedPrompts(g.params.flip!);
    expect(flipped.seed).toBe(g.params.flip_seed);
    expectMatches(flipped, g);
    // letterOrder "XYZ" is the default
    expectMatches(base(load(file)).genFlippedPrompts(g.params.flip!, { letterOrder: "XYZ" }), g);
  });
});

// ARENA draws fresh names with numpy from a list in CPython's string-hash order (PYTHONHASHSEED-dependent), so
// these files are not reproducible (SPEC §6.4). What does not depend on the hash is checked.
describe.each(BASES)("ARENA XYZ flip of %s (NOT_PORTABLE: the hash-independent parts only)", (file) => {
  const g = load("xyz_flip/arena_numpy_hashseed0_NOT_PORTABLE/" + file.replace(".json", "__flip_ABB-XYZ_BAB-XYZ.json"));
  it("same seed, templates, groups, word_idx, nouns and non-name words; names are fresh", () => {
    const clean = base(load(file));
    const flipped = clean.genFlippedPrompts(g.params.flip!);
    expect(flipped.seed).toBe(g.params.flip_seed);
    expect(flipped.templates).toEqual(g.templates);
    expect(flipped.groups).toEqual(g.groups);
    expect(flipped.wordIdx).toEqual(g.word_idx);
    const names = new Set(C.NAMES);
    g.ioi_prompts.forEach((gp, i) => {
      const ours = flipped.ioiPrompts[i] as unknown as Record<string, unknown>;
      expect(Object.keys(ours)).toEqual(Object.keys(gp));
      for (const k of ["[PLACE]", "[OBJECT]", "TEMPLATE_IDX"]) expect(ours[k]).toEqual(gp[k]);
      const a = (gp.text as string).split(" ");
      const b = (ours.text as string).split(" ");
      const c = clean.sentences[i]!.split(" ");
      expect(b.length).toBe(a.length);
      const namePos = c.flatMap((w, j) => (names.has(w) ? [j] : [])).slice(0, 3);
      b.forEach((w, j) => {
        if (namePos.includes(j)) {
          expect(names.has(w) && names.has(a[j]!)).toBe(true);
          expect([c[namePos[0]!], c[namePos[1]!], c[namePos[2]!]]).not.toContain(w);
        } else expect(w).toBe(a[j]);
      });
    });
  });
});

describe("spec spot values", () => {
  it("mixed N=100 seed 1", () => {
    const ds = new IOIDataset({ promptType: "mixed", N: 100, seed: 1 });
    expect(ds.sentences.slice(0, 4).map((s) => s.split(" ").slice(0, -1).join(" "))).toEqual([
      "When Victoria and Jane got a snack at the store, Jane decided to give it to",
      "When Sullivan and Rose got a necklace at the garden, Sullivan decided to give it to",
      "When Alan and Alex got a drink at the store, Alex decided to give it to",
      "Then, Jessica and Crystal had a long argument, and afterwards Jessica said to",
    ]);
    expect(ds.wordIdx.IO!.slice(0, 4)).toEqual([1, 3, 1, 4]);
    expect(ds.wordIdx.S1!.slice(0, 4)).toEqual([3, 1, 3, 2]);
    expect(ds.wordIdx.S2!.slice(0, 4)).toEqual([11, 11, 11, 12]);
    expect(ds.wordIdx.end!.slice(0, 4)).toEqual([16, 16, 16, 14]);
    expect(ds.wordIdx.punct!.slice(0, 4)).toEqual([10, 10, 10, 9]);
    expect(ds.maxLen).toBe(21);
    expect(ds.groups.length).toBe(14);
    expect(ds.groups[0]).toEqual([0, 2, 6, 25, 37, 41, 81, 88]);
    expect(ds.tokenizedPrompts[0]!.split("|").slice(0, 3)).toEqual(["When", " Victoria", " and"]);
    expect(ds.tokenizedPrompts[0]!.endsWith("|<|endoftext|>")).toBe(true);
    expect(ds.length).toBe(100);
    expect(Array.from(ds.wordIdxTensor("end").dataSync().slice(0, 4))).toEqual([16, 16, 16, 14]);
    expect(Array.from(ds.ioTokenIDsTensor.dataSync())).toEqual(ds.ioTokenIDs);
  });

  it("flip seeds", () => {
    expect(flipSeed(1, "ABB->XYZ, BAB->XYZ")).toBe(1219);
    expect(flipSeed(42, "ABB->XYZ, BAB->XYZ")).toBe(1260);
    expect(flipSeed(1, "ABB -> BAB, BAB -> ABB")).toBe(1207);
  });

  it("symmetric N=150 seed 42 with BOS: toks one wider than max_len", () => {
    const ds = new IOIDataset({ promptType: "mixed", N: 150, seed: 42, prependBos: true, symmetric: true });
    expect(ds.toks.shape).toEqual([150, 22]);
    expect(ds.maxLen).toBe(21);
    expect(ds.wordIdx.end!.slice(0, 4)).toEqual([19, 19, 18, 18]);
    expect(ds.wordIdx.punct!.slice(0, 4)).toEqual([13, 13, 10, 10]);
    // pairs swap IO and S
    expect(ds.ioiPrompts[1]!.IO).toBe(ds.ioiPrompts[0]!.S);
    expect(ds.ioiPrompts[1]!.S).toBe(ds.ioiPrompts[0]!.IO);
  });
});

describe("other prompt types and options", () => {
  it("ABBA / BABA / ABC / BAC / ABC mixed generate consistent prompts", () => {
    for (const promptType of ["ABBA", "BABA", "ABC", "BAC", "ABC mixed"] as IOIPromptType[]) {
      const ds = new IOIDataset({ promptType, N: 20, seed: 3 });
      expect(ds.sentences.length).toBe(20);
      for (const p of ds.ioiPrompts) {
        expect(p.text).not.toMatch(/\[/);
        if (promptType.startsWith("A") || promptType.startsWith("B")) expect(p.text.endsWith(" " + p.IO)).toBe(true);
        if (promptType.includes("C")) expect(typeof p.C).toBe("string");
      }
      if (promptType === "ABBA") expect(ds.templatesByPrompt.every((t) => t === "ABBA")).toBe(true);
    }
  });

  it("a list of templates is used as is", () => {
    const templates = ["Then, [A] and [B] went to the [PLACE]. [B] gave a [OBJECT] to [A]"];
    const ds = new IOIDataset({ promptType: templates, N: 4, seed: 0 });
    expect(ds.templates).toEqual(templates);
    expect(ds.groups).toEqual([[0, 1, 2, 3]]);
  });

  it("slice and copy behave like the Python __getitem__ / copy", () => {
    const ds = new IOIDataset({ promptType: "mixed", N: 10, seed: 1, prependBos: true });
    const s = ds.slice(2, 5);
    expect(s.N).toBe(3);
    expect(s.sentences).toEqual(ds.sentences.slice(2, 5));
    expect(s.prependBos).toBe(true);
    expect(s.seed).toBe(0);
    const c = ds.copy();
    expect(c.sentences).toEqual(ds.sentences);
    expect(c.prependBos).toBe(false);
  });
});

describe("CPython set order for groups", () => {
  it("is ascending for small ids and follows the hash table otherwise", () => {
    expect(pythonIntSetOrder([3, 1, 2, 1, 0])).toEqual([0, 1, 2, 3]);
    // checked with CPython 3.11: list(set([2, 9])) == [9, 2]; list(set([13, 5, 0, 8])) == [0, 8, 5, 13]
    expect(pythonIntSetOrder([2, 9])).toEqual([9, 2]);
    expect(pythonIntSetOrder([13, 5, 0, 8])).toEqual([0, 8, 5, 13]);
  });
});

describe("errors", () => {
  it("unknown promptType, odd symmetric N, bad flips → DatasetError (a TlensError)", () => {
    expect(() => new IOIDataset({ promptType: "ABAB", N: 4 })).toThrow(DatasetError);
    expect(() => new IOIDataset({ promptType: "ABAB", N: 4 })).toThrow(/unknown IOI promptType "ABAB"/);
    expect(() => new IOIDataset({ promptType: "mixed", N: 5, symmetric: true })).toThrow(/even N/);
    expect(() => new IOIDataset({ promptType: "ABC", N: 4, symmetric: true })).toThrow(TlensError);
    expect(() => new IOIDataset({ promptType: "mixed", N: 0 })).toThrow(DatasetError);
    const ds = new IOIDataset({ promptType: "mixed", N: 4, seed: 1 });
    for (const bad of ["ABB->XYZ", "ABB->XYZ, BAB->XYZ, X->Y", "ABB XYZ, BAB XYZ", "ABB->, BAB->ABB"]) {
      expect(() => ds.genFlippedPrompts(bad), bad).toThrow(DatasetError);
    }
    expect(() => ds.genFlippedPrompts("ABB->XYZ")).toThrow(/unknown flip "ABB->XYZ"/);
    expect(() => ds.genFlippedPrompts("ABB->XYZ, BAB->XYZ", { letterOrder: "XY" })).toThrow(/letterOrder/);
    expect(() => parseFlip(3 as unknown as string)).toThrow(DatasetError);
    expect(() => new IOIDataset({ promptType: "mixed", N: 2, prompts: ds.ioiPrompts })).toThrow(/N = 2 but 4/);
  });
});
