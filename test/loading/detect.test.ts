import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import {
  detectFormat,
  detectFormatFromFiles,
  detectModelFiles,
  loadHfModelDir,
  readSafetensors,
  writeSafetensors,
} from "../../src/loading/index.js";
import type { Tensor } from "../../src/tensor/index.js";
import { repo, shared } from "./util.js";

const tmp = mkdtempSync(join(tmpdir(), "tlens-detect-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
/** A fresh folder holding the given files (name → contents, or a path to symlink). */
function folder(files: Record<string, string | Uint8Array | { link: string }>): string {
  const dir = join(tmp, `d${n++}`);
  mkdirSync(dir);
  for (const [name, v] of Object.entries(files)) {
    if (typeof v === "object" && "link" in v) symlinkSync(v.link, join(dir, name));
    else writeFileSync(join(dir, name), v);
  }
  return dir;
}

describe("detectFormat", () => {
  it("recognises the three formats by the files present", async () => {
    expect(await detectFormat(repo("models/toy-ioi"))).toBe("hf-safetensors");
    expect(await detectFormat(shared("golden/tl"))).toBe("hf-safetensors");
    expect(await detectFormat(shared("models/stories260K"))).toBe("llama2c");
    expect(await detectFormat(shared("models/gpt-nano-sort"))).toBe("llmviz-json");
    expect(await detectModelFiles(shared("models/stories260K"))).toEqual({
      format: "llama2c",
      dir: shared("models/stories260K"),
      files: { checkpoint: "stories260K.bin", tokenizer: "tok512.bin" },
    });
  });

  it("accepts a file inside the folder", async () => {
    expect(await detectModelFiles(repo("models/toy-ioi/model.safetensors"))).toEqual({
      format: "hf-safetensors",
      dir: repo("models/toy-ioi"),
      files: { config: "config.json", weights: "model.safetensors" },
    });
    expect(await detectFormat(repo("models/toy-ioi/config.json"))).toBe("hf-safetensors");
    expect(await detectFormat(shared("models/stories260K/stories260K.bin"))).toBe("llama2c");
    expect(await detectFormat(shared("models/gpt-nano-sort/model.json"))).toBe("llmviz-json");
    await expect(detectFormat(shared("models/stories260K/tok512.bin"))).rejects.toThrow(
      /looks like a llama2\.c tokenizer/,
    );
  });

  it("follows symlinks (the Hugging Face cache's snapshots are links into blobs)", async () => {
    const dir = folder({
      "config.json": { link: repo("models/toy-ioi/config.json") },
      "model.safetensors": { link: repo("models/toy-ioi/model.safetensors") },
    });
    expect(await detectFormat(dir)).toBe("hf-safetensors");
  });

  it("says what it found when nothing fits", async () => {
    const err = async (p: string) =>
      detectFormat(p).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    let e = await err(folder({ "readme.txt": "hi", "weights.npz": "x" }));
    expect(e).toBeInstanceOf(LoadError);
    expect(e!.message).toMatch(
      /no model found; expected config\.json \+ model\.safetensors.*Found: readme\.txt, weights\.npz\./,
    );
    e = await err(folder({ "config.json": "{}", "pytorch_model.bin": "x" }));
    expect(e!.message).toMatch(/PyTorch pickle weights \(pytorch_model\.bin\) are not supported/);
    e = await err(folder({ "config.json": "{}" }));
    expect(e!.message).toMatch(/config\.json has no model\.safetensors beside it/);
    e = await err(folder({ "stories.bin": "x" }));
    expect(e!.message).toMatch(/stories\.bin looks like a llama2\.c checkpoint but no tokenizer \.bin is beside it/);
    e = await err(folder({}));
    expect(e!.message).toMatch(/Found: an empty folder/);
    e = await err(join(tmp, "does-not-exist"));
    expect(e!.message).toMatch(/does-not-exist: no such file or folder/);
    e = await err(folder({ "a.bin": "x", "b.bin": "y", "tok512.bin": "z" }));
    expect(e!.message).toMatch(/several llama2\.c checkpoints \(a\.bin, b\.bin\)/);
  });

  it("detectFormatFromFiles is pure and prefers HF when several formats are present", () => {
    expect(detectFormatFromFiles(["model.json", "config.json", "model.safetensors"], "x").format).toBe(
      "hf-safetensors",
    );
    expect(
      detectFormatFromFiles(["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors"], "x")
        .files,
    ).toEqual({ config: "config.json", weights: "model.safetensors.index.json" });
    expect(detectFormatFromFiles(["model.json", "partials-t0.json"], "x").format).toBe("llmviz-json");
    expect(() => detectFormatFromFiles(["model.safetensors"], "x", "model.safetensors")).toThrow(
      /needs a config\.json beside it/,
    );
  });
});

describe("loadHfModelDir", () => {
  it("loads the golden folder like reading and converting by hand", async () => {
    const { cfg, weights, dtypes, hfConfig } = await loadHfModelDir(shared("golden/tl"));
    expect(cfg.dModel).toBe(64);
    expect(cfg.modelName).toBe("tl");
    expect((hfConfig as { n_layer: number }).n_layer).toBe(3);
    expect(dtypes.get("transformer.wte.weight")).toBe("F32");
    const ref = readSafetensors(readFileSync(shared("golden/tl/tl_converted.safetensors")), "ref").tensors;
    for (const [k, t] of ref) expect(Array.from(weights.get(k)!.dataSync()), k).toEqual(Array.from(t.dataSync()));
  });

  it("reads sharded safetensors through model.safetensors.index.json", async () => {
    const hf = readSafetensors(readFileSync(shared("golden/tl/model.safetensors")), "m").tensors;
    const keys = [...hf.keys()];
    const pick = (ks: string[]) => Object.fromEntries(ks.map((k) => [k, hf.get(k)!])) as Record<string, Tensor>;
    const a = keys.slice(0, 10),
      b = keys.slice(10);
    const weightMap = Object.fromEntries([
      ...a.map((k) => [k, "model-00001-of-00002.safetensors"]),
      ...b.map((k) => [k, "model-00002-of-00002.safetensors"]),
    ]);
    const files = {
      "config.json": readFileSync(shared("golden/tl/config.json"), "utf8"),
      "model-00001-of-00002.safetensors": writeSafetensors(pick(a)),
      "model-00002-of-00002.safetensors": writeSafetensors(pick(b), undefined, { floatDtype: "F32" }),
      "model.safetensors.index.json": JSON.stringify({ metadata: { total_size: 1 }, weight_map: weightMap }),
    };
    const { weights } = await loadHfModelDir(folder(files));
    const ref = readSafetensors(readFileSync(shared("golden/tl/tl_converted.safetensors")), "ref").tensors;
    for (const [k, t] of ref) expect(Array.from(weights.get(k)!.dataSync()), k).toEqual(Array.from(t.dataSync()));

    // a tensor listed in the index but missing from its shard; an unsafe shard path
    const missing = {
      ...files,
      "model.safetensors.index.json": JSON.stringify({
        weight_map: { ...weightMap, "transformer.extra": "model-00001-of-00002.safetensors" },
      }),
    };
    await expect(loadHfModelDir(folder(missing))).rejects.toThrow(
      /tensor "transformer\.extra" listed in model\.safetensors\.index\.json is not in this shard/,
    );
    const escape = {
      ...files,
      "model.safetensors.index.json": JSON.stringify({
        weight_map: { ...weightMap, [a[0]!]: "../secret.safetensors" },
      }),
    };
    await expect(loadHfModelDir(folder(escape))).rejects.toThrow(/maps to an invalid shard file/);
    const noMap = { ...files, "model.safetensors.index.json": "{}" };
    await expect(loadHfModelDir(folder(noMap))).rejects.toThrow(/"weight_map" must be an object/);
  });

  it("gives LoadErrors for broken config.json, broken weights and other formats", async () => {
    const st = { link: shared("golden/tl/model.safetensors") };
    await expect(loadHfModelDir(folder({ "config.json": '{"n_layer": 3,', "model.safetensors": st }))).rejects.toThrow(
      /config\.json: not valid JSON/,
    );
    const cfg = JSON.parse(readFileSync(shared("golden/tl/config.json"), "utf8"));
    await expect(
      loadHfModelDir(folder({ "config.json": JSON.stringify({ ...cfg, n_layer: 4 }), "model.safetensors": st })),
    ).rejects.toThrow(/missing tensor "h\.3\.ln_1\.weight"/);
    await expect(
      loadHfModelDir(folder({ "config.json": JSON.stringify({ ...cfg, n_layer: 2 }), "model.safetensors": st })),
    ).rejects.toThrow(/unexpected tensor\(s\) for a 2-layer GPT-2: "transformer\.h\.2\./);
    const loaded = await loadHfModelDir(
      folder({ "config.json": JSON.stringify({ ...cfg, n_layer: 2 }), "model.safetensors": st }),
      { extraKeys: "ignore" },
    );
    expect(loaded.cfg.nLayers).toBe(2);
    await expect(
      loadHfModelDir(
        folder({ "config.json": JSON.stringify({ ...cfg, tie_word_embeddings: false }), "model.safetensors": st }),
      ),
    ).rejects.toThrow(/missing tensor "lm_head\.weight"/);
    const truncated = readFileSync(shared("golden/tl/model.safetensors")).subarray(0, 100);
    await expect(
      loadHfModelDir(folder({ "config.json": JSON.stringify(cfg), "model.safetensors": truncated })),
    ).rejects.toThrow(LoadError);
    await expect(loadHfModelDir(shared("models/stories260K"))).rejects.toThrow(
      /expected a Hugging Face model .* found the llama2c format/,
    );
    await expect(
      loadHfModelDir(
        folder({
          "config.json": JSON.stringify({ ...cfg, architectures: ["BloomForCausalLM"] }),
          "model.safetensors": st,
        }),
      ),
    ).rejects.toThrow(/unsupported architecture BloomForCausalLM/);
  });

  it("toy-ioi from a copy of the folder gets the folder's name as model name", async () => {
    const dir = join(tmp, "my-model");
    mkdirSync(dir);
    copyFileSync(repo("models/toy-ioi/config.json"), join(dir, "config.json"));
    symlinkSync(repo("models/toy-ioi/model.safetensors"), join(dir, "model.safetensors"));
    const { cfg } = await loadHfModelDir(dir);
    expect(cfg.modelName).toBe("my-model");
  });
});
