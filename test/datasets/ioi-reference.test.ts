// Prompt types, options and flips beyond the golden files, against values printed by the Python generator's logic
// (ARENA / cautils ioi_dataset.py's gen_prompt_uniform, template selection, groups and gen_flipped_prompts with the
// sorted-letter rule, re-run under CPython 3.11.7 / numpy 2.4.6; the tokenizer-derived fields are covered by
// ioi.test.ts). A wider sweep (7 prompt types x 5 seeds x 5 sizes x options x 4 flips, 525 datasets and 1568
// flips) matched the same way during development.
import { describe, expect, it } from "vitest";
import { IOIDataset } from "../../src/datasets/ioi.js";
import { DatasetError } from "../../src/datasets/errors.js";

const ABC_MIXED_N6_SEED7 = {
  templates: [
    "When [B], [A] and [C] arrived at the [PLACE], [B] and [C] gave a [OBJECT] to [A]",
    "Friends [B], [A] and [C] went to the [PLACE]. [B] and [C] gave a [OBJECT] to [A]",
    "When [A], [B] and [C] arrived at the [PLACE], [B] and [C] gave a [OBJECT] to [A]",
    "Then, [B], [A] and [C] went to the [PLACE]. [B] and [C] gave a [OBJECT] to [A]",
    "Then, [A], [B] and [C] went to the [PLACE]. [B] and [C] gave a [OBJECT] to [A]",
    "Friends [A], [B] and [C] went to the [PLACE]. [B] and [C] gave a [OBJECT] to [A]",
    "Afterwards [A], [B] and [C] went to the [PLACE]. [B] and [C] gave a [OBJECT] to [A]",
    "Afterwards [B], [A] and [C] went to the [PLACE]. [B] and [C] gave a [OBJECT] to [A]",
  ],
  prompts: [
    {
      "[PLACE]": "school",
      "[OBJECT]": "ring",
      text: "Friends Maria, Andre and Kyle went to the school. Andre and Kyle gave a ring to Maria",
      IO: "Maria",
      S: "Andre",
      TEMPLATE_IDX: 5,
      C: "Kyle",
    },
    {
      "[PLACE]": "school",
      "[OBJECT]": "kiss",
      text: "Friends Jeremy, John and Andrew went to the school. Jeremy and Andrew gave a kiss to John",
      IO: "John",
      S: "Jeremy",
      TEMPLATE_IDX: 1,
      C: "Andrew",
    },
    {
      "[PLACE]": "garden",
      "[OBJECT]": "basketball",
      text: "Afterwards Andre, Tyler and Marco went to the garden. Tyler and Marco gave a basketball to Andre",
      IO: "Andre",
      S: "Tyler",
      TEMPLATE_IDX: 6,
      C: "Marco",
    },
    {
      "[PLACE]": "store",
      "[OBJECT]": "basketball",
      text: "When Maria, Marcus and Jason arrived at the store, Maria and Jason gave a basketball to Marcus",
      IO: "Marcus",
      S: "Maria",
      TEMPLATE_IDX: 0,
      C: "Jason",
    },
    {
      "[PLACE]": "house",
      "[OBJECT]": "bone",
      text: "When Carter, Madison and Frank arrived at the house, Carter and Frank gave a bone to Madison",
      IO: "Madison",
      S: "Carter",
      TEMPLATE_IDX: 0,
      C: "Frank",
    },
    {
      "[PLACE]": "restaurant",
      "[OBJECT]": "kiss",
      text: "Friends Georgia, Marcus and Madison went to the restaurant. Georgia and Madison gave a kiss to Marcus",
      IO: "Marcus",
      S: "Georgia",
      TEMPLATE_IDX: 1,
      C: "Madison",
    },
  ],
  groups: [[3, 4], [1, 5], [0], [2]],
};

const MIXED_N4_SEED5_PREFIX = {
  prompts: [
    {
      "[PLACE]": "garden",
      "[OBJECT]": "basketball",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>Then, Edward and Jamie went to the garden. Jamie gave a basketball to Edward",
      IO: "Edward",
      S: "Jamie",
      TEMPLATE_IDX: 7,
    },
    {
      "[PLACE]": "house",
      "[OBJECT]": "bone",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>When Cole and Eva got a bone at the house, Cole decided to give it to Eva",
      IO: "Eva",
      S: "Cole",
      TEMPLATE_IDX: 6,
    },
    {
      "[PLACE]": "restaurant",
      "[OBJECT]": "ring",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>Then, Max and Jonathan had a lot of fun at the restaurant. Jonathan gave a ring to Max",
      IO: "Max",
      S: "Jonathan",
      TEMPLATE_IDX: 9,
    },
    {
      "[PLACE]": "school",
      "[OBJECT]": "bone",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>Then, Graham and Frank had a long argument, and afterwards Graham said to Frank",
      IO: "Frank",
      S: "Graham",
      TEMPLATE_IDX: 12,
    },
  ],
  flip: [
    {
      "[PLACE]": "garden",
      "[OBJECT]": "basketball",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>Then, Anderson and Lisa went to the garden. Christopher gave a basketball to Edward",
      IO: "Lisa",
      S: "Christopher",
      TEMPLATE_IDX: 7,
    },
    {
      "[PLACE]": "house",
      "[OBJECT]": "bone",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>When Eva and Eva got a bone at the house, Cole decided to give it to Eva",
      IO: "Eva",
      S: "Cole",
      TEMPLATE_IDX: 6,
    },
    {
      "[PLACE]": "restaurant",
      "[OBJECT]": "ring",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>Then, Richard and Connor had a lot of fun at the restaurant. Jordan gave a ring to Max",
      IO: "Connor",
      S: "Jordan",
      TEMPLATE_IDX: 9,
    },
    {
      "[PLACE]": "school",
      "[OBJECT]": "bone",
      text: "Hello there. General Kenobi. You are a bold one<|endoftext|>Then, Frank and Frank had a long argument, and afterwards Graham said to Frank",
      IO: "Frank",
      S: "Graham",
      TEMPLATE_IDX: 12,
    },
  ],
  templatesByPrompt: ["ABBA", "ABBA", "ABBA", "ABBA"],
  seed: 1217,
  flipTemplates: [
    "Then, [B] and [A] had a long argument, and afterwards [B] said to [A]",
    "When [A] and [B] got a [OBJECT] at the [PLACE], [B] decided to give it to [A]",
    "After [B] and [A] went to the [PLACE], [B] gave a [OBJECT] to [A]",
    "Then, [A] and [B] were working at the [PLACE]. [B] decided to give a [OBJECT] to [A]",
    "When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give it to [A]",
    "Then, [A] and [B] had a long argument, and afterwards [B] said to [A]",
    "Then, [B] and [A] had a lot of fun at the [PLACE]. [B] gave a [OBJECT] to [A]",
    "After [A] and [B] went to the [PLACE], [B] gave a [OBJECT] to [A]",
    "Then, [A] and [B] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
    "Then, [B] and [A] were thinking about going to the [PLACE]. [B] wanted to give a [OBJECT] to [A]",
    "Then, [A] and [B] were thinking about going to the [PLACE]. [B] wanted to give a [OBJECT] to [A]",
    "Then, [B] and [A] were working at the [PLACE]. [B] decided to give a [OBJECT] to [A]",
    "Then, [A] and [B] had a lot of fun at the [PLACE]. [B] gave a [OBJECT] to [A]",
    "Then, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
  ],
};

const BABA_N50_SEED123_SYM_NB3 = {
  first: [
    "Then, Anthony and Eric went to the house. Anthony gave a computer to Eric",
    "Then, Eric and Anthony went to the house. Eric gave a computer to Anthony",
    "Then, Alice and Warren went to the office. Alice gave a necklace to Warren",
    "Then, Warren and Alice went to the office. Warren gave a necklace to Alice",
  ],
  groups: [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 34, 35, 36, 37, 44, 45],
    [12, 13, 18, 19, 24, 25, 26, 27, 30, 31, 32, 33, 38, 39, 46, 47, 48, 49],
    [16, 17, 20, 21, 22, 23, 28, 29, 40, 41, 42, 43],
  ],
};

const MIXED_N2_SEED2 = {
  ids: [6, 8],
  groups: [[1], [0]],
};

describe("beyond the goldens", () => {
  it('"ABC mixed" (C names, shuffled ABC + BAC templates)', () => {
    const ds = new IOIDataset({ promptType: "ABC mixed", N: 6, seed: 7 });
    expect(ds.templates).toEqual(ABC_MIXED_N6_SEED7.templates);
    expect(JSON.stringify(ds.ioiPrompts)).toBe(JSON.stringify(ABC_MIXED_N6_SEED7.prompts));
    expect(ds.groups).toEqual(ABC_MIXED_N6_SEED7.groups);
  });

  it("prefixes (randint(30, 40) and a choice per prompt) and a flip with kept, repeated and fresh letters", () => {
    const ds = new IOIDataset({
      promptType: "mixed",
      N: 4,
      seed: 5,
      prefixes: ["Hello there. General Kenobi. You are a bold one"],
    });
    expect(JSON.stringify(ds.ioiPrompts)).toBe(JSON.stringify(MIXED_N4_SEED5_PREFIX.prompts));
    const f = ds.genFlippedPrompts("ABB -> CDE, BAB -> AAB");
    expect(f.seed).toBe(MIXED_N4_SEED5_PREFIX.seed);
    expect(f.templates).toEqual(MIXED_N4_SEED5_PREFIX.flipTemplates);
    expect(JSON.stringify(f.ioiPrompts)).toBe(JSON.stringify(MIXED_N4_SEED5_PREFIX.flip));
    expect(f.templatesByPrompt).toEqual(MIXED_N4_SEED5_PREFIX.templatesByPrompt);
  });

  it("BABA, symmetric, nbTemplates 3", () => {
    const ds = new IOIDataset({ promptType: "BABA", N: 50, seed: 123, symmetric: true, nbTemplates: 3 });
    expect(ds.sentences.slice(0, 4)).toEqual(BABA_N50_SEED123_SYM_NB3.first);
    expect(ds.groups).toEqual(BABA_N50_SEED123_SYM_NB3.groups);
  });

  it("groups follow CPython's set order, which is not always ascending", () => {
    const ds = new IOIDataset({ promptType: "mixed", N: 2, seed: 2 });
    expect(ds.ioiPrompts.map((p) => p.TEMPLATE_IDX)).toEqual(MIXED_N2_SEED2.ids);
    expect(ds.groups).toEqual(MIXED_N2_SEED2.groups);
  });

  it("seeds outside numpy's range fail as in Python (np.random.seed raises); a flip past 2^32 works (seeds.test.ts)", () => {
    expect(() => new IOIDataset({ promptType: "mixed", N: 2, seed: 2 ** 32 })).toThrow(DatasetError);
    expect(() => new IOIDataset({ promptType: "mixed", N: 2, seed: -1 })).toThrow(/2\*\*32 - 1/);
    // deliberately unlike the Python original, whose np.random.seed(seed + 1206) raises here: the flip seeds
    // Python's random only (bit-exact with CPython's two-word key), numpy being unused by the generator
    const ds = new IOIDataset({ promptType: "mixed", N: 2, seed: 2 ** 32 - 1 });
    expect(ds.genFlippedPrompts("ABB -> BAB, BAB -> ABB").seed).toBe(2 ** 32 - 1 + 1206);
  });
});
