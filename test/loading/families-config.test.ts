import { describe, expect, it } from "vitest";
import { ConfigError, LoadError } from "../../src/errors.js";
import { makeConfig, type HookedTransformerConfig } from "../../src/loading/config.js";
import { HookedTransformer } from "../../src/model/index.js";

const BASE: Partial<HookedTransformerConfig> = { nLayers: 1, dModel: 16, nHeads: 2, nCtx: 8, dVocab: 10 };

describe("honest config: fields tlens does not implement yet are refused", () => {
  const cases: Array<[keyof HookedTransformerConfig, unknown]> = [
    ["parallelAttnMlp", true],
    ["useLocalAttn", true],
    ["attnScoresSoftCap", 50],
    ["outputLogitsSoftCap", 30],
    ["postEmbeddingLn", true],
    ["useHookTokens", true],
    ["useNormalizationBeforeAndAfter", true],
    ["useNTKByPartsRope", true],
  ];
  for (const [field, value] of cases) {
    it(`${field} = ${JSON.stringify(value)} is a ConfigError from makeConfig and fromConfig`, () => {
      const partial = { ...BASE, [field]: value } as Partial<HookedTransformerConfig>;
      expect(() => makeConfig(partial, "cfg")).toThrow(ConfigError);
      expect(() => makeConfig(partial, "cfg")).toThrow(new RegExp(`cfg: ${field} = .*does not implement`));
      expect(() => HookedTransformer.fromConfig(partial)).toThrow(ConfigError);
    });
  }

  it("the off values (TL's defaults, -1 for the soft caps) are accepted", () => {
    const cfg = makeConfig({
      ...BASE, parallelAttnMlp: false, useLocalAttn: false, attnScoresSoftCap: -1, outputLogitsSoftCap: -1,
      postEmbeddingLn: false, useHookTokens: false,
    });
    expect([cfg.parallelAttnMlp, cfg.useLocalAttn, cfg.attnScoresSoftCap, cfg.outputLogitsSoftCap]).toEqual([false, false, -1, -1]);
  });

  it("ConfigError is a LoadError, so callers that catch loading errors catch it", () => {
    expect(new ConfigError("x")).toBeInstanceOf(LoadError);
  });
});
