// SAELens folders (save → load round trip), Gemma Scope's params.npz (built here with fflate), the OpenAI and
// dictionary_learning layouts, and loadSae from a folder, the hub (a 127.0.0.1 server) and then the cache alone.
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tensor, type Tensor } from "../../src/index.js";
import {
  gemmaScopeHookName,
  loadSae,
  loadSaeFromDisk,
  parseNpy,
  saeFromDictionaryLearning,
  saeFromNpz,
  saeFromOpenAi,
  saeLensFiles,
  saveSae,
  SaeError,
} from "../../src/sae/index.js";
import { startHubServer, type HubServer } from "../loading/hub-server.js";
import { tinySae } from "./fixtures.js";

const vec = (t: Tensor): number[] => [...t.contiguous().dataSync()];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tlens-sae-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A version-1 .npy file of float32 values (row-major), as numpy.save writes it. */
function npy(values: number[], shape: number[], descr = "<f4"): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const body =
    descr === "<f8"
      ? new Uint8Array(Float64Array.from(values).buffer)
      : new Uint8Array(Float32Array.from(values).buffer);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

describe("SAELens folders", () => {
  it("save → load gives the same config, weights and sparsity (jumprelu)", async () => {
    const sae = tinySae(
      { architecture: "jumprelu", modelName: "toy-ioi", normalizeActivations: "constant_norm_rescale" },
      { threshold: tensor([0.5, 1.5, 0.5]) },
    );
    await saveSae(sae, join(dir, "jr"), { sparsity: tensor([-1, -2, -3]) });
    const back = await loadSaeFromDisk(join(dir, "jr"));
    expect(back.sae.cfg).toEqual({ ...sae.cfg, saeLensVersion: "6.18.0", saeLensTrainingVersion: "tlens" });
    for (const [n, t] of sae.stateDict()) expect(vec(back.sae.stateDict().get(n) as Tensor)).toEqual(vec(t));
    expect(vec(back.sparsity as Tensor)).toEqual([-1, -2, -3]);
  });

  it("writes SAELens 6's cfg.json fields; topk keeps k; a folder without sparsity loads with null", async () => {
    const sae = tinySae({ architecture: "topk", k: 2 });
    const cfg = JSON.parse(saeLensFiles(sae)["cfg.json"] as string) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      d_in: 2,
      d_sae: 3,
      architecture: "topk",
      k: 2,
      apply_b_dec_to_input: true,
      metadata: { hook_name: "blocks.0.hook_resid_pre" },
    });
    await saveSae(sae, join(dir, "topk"));
    expect((await loadSaeFromDisk(join(dir, "topk"))).sparsity).toBeNull();
  });

  it("names the file that is missing or wrong", async () => {
    await expect(loadSaeFromDisk(join(dir, "nope"))).rejects.toThrow(/nope\/cfg.json: cannot read/);
    await mkdir(join(dir, "bad"), { recursive: true });
    await writeFile(
      join(dir, "bad", "cfg.json"),
      JSON.stringify({
        d_in: 2,
        d_sae: 3,
        architecture: "relu9",
        metadata: { sae_lens_version: "6.1.0", hook_name: "h" },
      }),
    );
    await expect(loadSaeFromDisk(join(dir, "bad"))).rejects.toThrow(/bad\/cfg.json: unknown SAE architecture "relu9"/);
  });
});

describe("Gemma Scope params.npz", () => {
  const arrays = {
    "W_enc.npy": npy([1, 0, -1, 0, 2, 1], [2, 3]),
    "b_enc.npy": npy([0, -1, 0.5], [3]),
    "W_dec.npy": npy([1, 0, 0, 1, 1, 1], [3, 2], "<f8"),
    "b_dec.npy": npy([0.5, -0.5], [2]),
    "threshold.npy": npy([0.5, 1.5, 0.5], [3]),
  };
  it("parses .npy (float32, float64, 1-d) and reads the npz as a JumpReLU SAE without b_dec subtraction", async () => {
    expect(parseNpy(arrays["W_dec.npy"]).toArray()).toEqual([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const sae = saeFromNpz(zipSync(arrays), { hookName: "blocks.0.hook_resid_post" });
    expect(sae.cfg).toMatchObject({ architecture: "jumprelu", dIn: 2, dSae: 3, applyBDecToInput: false });
    // x = [1, 1]: pre = [1, 1.5, 0.5] > [0.5, 1.5, 0.5] → [1, 0, 0]
    expect(vec(await sae.encode(tensor([[1, 1]])))).toEqual([1, 0, 0]);
  });

  it("parses float16 and Fortran-order arrays, and rescales an embedding SAE as SAELens does", () => {
    const half = npy([], [3], "<f2");
    const h = new Uint8Array(half.length + 6);
    h.set(half);
    h.set([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38], half.length); // 1, -2, 0.5 in IEEE half
    expect(vec(parseNpy(h))).toEqual([1, -2, 0.5]);
    const f = npy([1, 2, 3, 4, 5, 6], [2, 3]);
    const fortran = new TextDecoder("latin1").decode(f).replace("'fortran_order': False", "'fortran_order': True ");
    expect(parseNpy(Uint8Array.from(fortran, (c) => c.charCodeAt(0))).toArray()).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ]);
    const emb = saeFromNpz(zipSync(arrays), { hookName: "hook_embed" });
    expect(vec(emb.W_enc)).toEqual([...Float32Array.from([1, 0, -1, 0, 2, 1], (v) => v / Math.SQRT2)]);
    expect(() => parseNpy(npy([1], [1], "<c8"))).toThrow(/dtype <c8 is not supported/);
  });

  it("hooks from the repo and folder; a bad archive is an SaeError", () => {
    expect(gemmaScopeHookName("google/gemma-scope-2b-pt-res", "layer_12/width_16k/average_l0_82")).toBe(
      "blocks.12.hook_resid_post",
    );
    expect(gemmaScopeHookName("google/gemma-scope-2b-pt-mlp", "layer_3/width_65k/average_l0_20")).toBe(
      "blocks.3.hook_mlp_out",
    );
    expect(gemmaScopeHookName("google/gemma-scope-2b-pt-att", "layer_3/width_16k/canonical")).toBe(
      "blocks.3.attn.hook_z",
    );
    expect(() => saeFromNpz(new Uint8Array([1, 2, 3]), { hookName: "h" })).toThrow(SaeError);
  });

  it("loadSae reads a local Gemma Scope folder", async () => {
    const folder = join(dir, "gemma-scope-2b-pt-res", "layer_4", "width_16k");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "params.npz"), zipSync(arrays));
    const { sae } = await loadSae(join(dir, "gemma-scope-2b-pt-res"), { folder: "layer_4/width_16k" });
    expect(sae.cfg.hookName).toBe("blocks.4.hook_resid_post");
  });
});

describe("converted layouts", () => {
  const t = tinySae();
  it("OpenAI (encoder.weight [d_sae, d_in], latent_bias, decoder.weight [d_in, d_sae], pre_bias) gives the same SAE", async () => {
    const sd = new Map([
      ["encoder.weight", t.W_enc.mT],
      ["latent_bias", t.b_enc as Tensor],
      ["decoder.weight", t.W_dec.mT],
      ["pre_bias", t.b_dec],
    ]);
    const x = tensor([
      [1.5, 0.5],
      [2, 0.5],
    ]);
    expect(vec(await saeFromOpenAi(sd, { hookName: "h" }).forward(x))).toEqual(vec(await t.forward(x)));
    expect(saeFromOpenAi(sd, { hookName: "h", k: 2 }).cfg.architecture).toBe("topk");
  });
  it("dictionary_learning AutoEncoder and AutoEncoderTopK", async () => {
    const base: [string, Tensor][] = [
      ["encoder.weight", t.W_enc.mT],
      ["encoder.bias", t.b_enc as Tensor],
      ["decoder.weight", t.W_dec.mT],
    ];
    const x = tensor([[1.5, 0.5]]);
    expect(
      vec(await saeFromDictionaryLearning(new Map([...base, ["bias", t.b_dec]]), { hookName: "h" }).forward(x)),
    ).toEqual(vec(await t.forward(x)));
    const topk = saeFromDictionaryLearning(new Map([...base, ["b_dec", t.b_dec], ["k", tensor(1)]]), { hookName: "h" });
    expect(topk.cfg).toMatchObject({ architecture: "topk", k: 1 });
    expect(() => saeFromDictionaryLearning(new Map(base), { hookName: "h" })).toThrow(/tensor "b_dec" is missing/);
  });
});

describe("loadSae from the hub", () => {
  let server: HubServer;
  beforeAll(async () => {
    const files = saeLensFiles(tinySae({ modelName: "toy" }));
    const asFile = (d: string | Uint8Array) => ({ data: Buffer.from(d), lfs: typeof d !== "string" });
    server = await startHubServer({
      "org/saes": {
        commit: "a".repeat(40),
        files: {
          "blocks.0.hook_resid_pre/cfg.json": asFile(files["cfg.json"]!),
          "blocks.0.hook_resid_pre/sae_weights.safetensors": asFile(files["sae_weights.safetensors"]!),
        },
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it("downloads a release's subfolder into the cache, then serves it offline from the cache", async () => {
    const opts = {
      endpoint: server.endpoint,
      cacheDir: join(dir, "hf"),
      token: null,
      progressBar: false,
      retries: 0,
      retryDelayMs: 0,
      folder: "blocks.0.hook_resid_pre",
    };
    const { sae, sparsity } = await loadSae("org/saes", { ...opts, offline: false });
    expect(sae.cfg.modelName).toBe("toy");
    expect(sparsity).toBeNull();
    const again = await loadSae("org/saes", { ...opts, offline: true });
    expect(vec(again.sae.W_enc)).toEqual(vec(sae.W_enc));
  });
});
