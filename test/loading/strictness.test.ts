// Loader strictness: bytes after the last tensor are refused (as the reference safetensors reader refuses them)
// unless allowTrailingBytes; NaN/Inf weights are refused by the weight loaders, naming the tensor, unless
// allowNonFinite (the plain reader checks when asked: a file of activations holds -inf attention scores).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import {
  loadHfModelDir,
  parseLlama2cCheckpoint,
  readLlama2cHeader,
  readSafetensors,
  readSafetensorsFile,
  writeSafetensors,
} from "../../src/loading/index.js";
import { Tensor, tensor } from "../../src/tensor/index.js";
import { buildFile, shared } from "./util.js";

const dir = mkdtempSync(join(tmpdir(), "tlens-strict-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadError(f: () => unknown): LoadError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LoadError);
  return err as LoadError;
}
async function loadErrorAsync(p: Promise<unknown>): Promise<LoadError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LoadError);
  return err as LoadError;
}

const f32 = (...xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);

describe("trailing bytes", () => {
  const header = JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } });
  const withTail = buildFile(header, new Uint8Array([...f32(1, 2), 0xde, 0xad, 0xbe]));

  it("are refused with the count and the fix, in memory and on disk", async () => {
    const e = loadError(() => readSafetensors(withTail, "tail.safetensors"));
    expect(e.message).toMatch(/tail\.safetensors: 3 bytes after the end of the last tensor .*allowTrailingBytes/);
    const file = join(dir, "tail.safetensors");
    writeFileSync(file, withTail);
    expect((await loadErrorAsync(readSafetensorsFile(file))).message).toMatch(
      /3 bytes after the end of the last tensor/,
    );
  });

  it("load with allowTrailingBytes, and an exact file loads as before", async () => {
    expect([...readSafetensors(withTail, "t", { allowTrailingBytes: true }).tensors.get("w")!.dataSync()]).toEqual([
      1, 2,
    ]);
    const file = join(dir, "tail2.safetensors");
    writeFileSync(file, withTail);
    expect([...(await readSafetensorsFile(file, { allowTrailingBytes: true })).tensors.get("w")!.dataSync()]).toEqual([
      1, 2,
    ]);
    expect([
      ...readSafetensors(buildFile(header, f32(1, 2)), "exact")
        .tensors.get("w")!
        .dataSync(),
    ]).toEqual([1, 2]);
    // a file with no tensors has nothing after its header
    expect(readSafetensors(buildFile("{}", new Uint8Array(0)), "empty").tensors.size).toBe(0);
    expect(loadError(() => readSafetensors(buildFile("{}", new Uint8Array(4)), "empty-tail")).message).toMatch(
      /4 bytes after/,
    );
  });
});

describe("non-finite weights", () => {
  it("NaN and ±Inf are refused when checked, naming the tensor, the count and the first bad element", () => {
    const bytes = writeSafetensors(
      new Map([
        ["ok", tensor([1, 2])],
        ["blocks.0.w", tensor([0, NaN, Infinity, -Infinity])],
      ]),
    );
    const e = loadError(() => readSafetensors(bytes, "nan.safetensors", { checkFinite: true }));
    expect(e.message).toMatch(
      /nan\.safetensors: tensor "blocks\.0\.w": 3 non-finite values \(the first: NaN at element 1\).*allowNonFinite/,
    );
    const half = writeSafetensors(new Map([["h", tensor([1, Infinity])]]), undefined, { floatDtype: "F16" });
    expect(loadError(() => readSafetensors(half, "h.safetensors", { checkFinite: true })).message).toMatch(
      /tensor "h": 1 non-finite value \(the first: Infinity at element 1\)/,
    );
  });

  it("TransformerLens's IGNORE buffer (-inf by design) is exempt", () => {
    const bytes = writeSafetensors(new Map([["blocks.0.attn.IGNORE", tensor(-Infinity)]]));
    expect(
      readSafetensors(bytes, "tl.safetensors", { checkFinite: true }).tensors.get("blocks.0.attn.IGNORE")!.item(),
    ).toBe(-Infinity);
  });

  it("the plain reader keeps them unless asked to check (activations: masked scores are -inf)", () => {
    const bytes = writeSafetensors(new Map([["w", tensor([NaN, 1])]]));
    const w = readSafetensors(bytes, "n").tensors.get("w")!.dataSync();
    expect(Number.isNaN(w[0])).toBe(true);
    expect(w[1]).toBe(1);
  });

  it("a model folder with a NaN weight is refused by loadHfModelDir unless allowed", async () => {
    const model = join(dir, "model");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(model);
    copyFileSync(shared("models/toy-ioi/config.json"), join(model, "config.json"));
    const { tensors } = await readSafetensorsFile(shared("models/toy-ioi/model.safetensors"));
    const name = [...tensors.keys()].find((k) => k.endsWith("h.1.mlp.c_fc.weight"))!;
    const poisoned = tensors.get(name)!.dataSync().slice();
    poisoned[7] = NaN;
    tensors.set(name, Tensor.fromTypedArray(poisoned, tensors.get(name)!.shape));
    writeFileSync(join(model, "model.safetensors"), writeSafetensors(tensors));
    expect((await loadErrorAsync(loadHfModelDir(model))).message).toContain(
      `tensor "${name}": 1 non-finite value (the first: NaN at element 7)`,
    );
    const loaded = await loadHfModelDir(model, { allowNonFinite: true });
    expect(loaded.cfg.nLayers).toBe(4);
  });
});

describe("non-finite weights in a llama2.c checkpoint", () => {
  it("are refused naming the section, unless allowNonFinite", () => {
    const ckpt = new Uint8Array(readFileSync(shared("models/stories260K/stories260K.bin")));
    const { dataOffset } = readLlama2cHeader(ckpt);
    new DataView(ckpt.buffer).setFloat32(dataOffset + 4 * 3, NaN, true); // the token embedding comes first (version 0)
    expect(loadError(() => parseLlama2cCheckpoint(ckpt, { source: "nan.bin" })).message).toMatch(
      /nan\.bin: tensor "tok": 1 non-finite value \(the first: NaN at element 3\)/,
    );
    expect(parseLlama2cCheckpoint(ckpt, { allowNonFinite: true }).cfg.nLayers).toBe(5);
  });
});
