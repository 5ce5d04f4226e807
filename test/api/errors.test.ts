// Every layer's failures are TlensErrors of the layer's own class (docs/architecture.md, "Errors"): real failing
// calls into the backend, tensors, loading, the hub, the model, hooks, the tokenizer, analyses, datasets, SAEs,
// jobs, viz, the CLI and the browser worker's protocol, each checked for its class, its name and its message.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendByName, registerWasmBackend } from "../../src/backend/index.js";
import { JsBackend } from "../../src/backend/js.js";
import { loadNativeAddon, NativeBackend } from "../../src/backend/native.js";
import type { ReduceOp, UnaryOp } from "../../src/backend/types.js";
import {
  AnalysisError,
  BackendError,
  CliError,
  ConfigError,
  HookError,
  IndexError,
  LoadError,
  ModelError,
  NetworkError,
  ShapeError,
  TlensError,
  TokenizerError,
  VizError,
  WorkerError,
} from "../../src/errors.js";
import { steeringHook } from "../../src/analysis/steering.js";
import { decodeError, encodeError } from "../../src/browser/protocol.js";
import { fetchBytes } from "../../src/browser/fetch-model.js";
import { saeCommand } from "../../src/cli/sae.js";
import { DatasetError } from "../../src/datasets/errors.js";
import { IOIDataset } from "../../src/datasets/ioi.js";
import { JobError, SpecError } from "../../src/jobs/errors.js";
import { describeFailure } from "../../src/lab/calls.js";
import { LabError } from "../../src/lab/validate.js";
import { validateJobData } from "../../src/jobs/runner.js";
import { downloadModel } from "../../src/loading/hub.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { writeSafetensors } from "../../src/loading/safetensors.js";
import { HookedTransformer } from "../../src/model/hooked-transformer.js";
import { SaeError } from "../../src/sae/errors.js";
import { resolveTrainOptions } from "../../src/sae/train/config.js";
import { zeros } from "../../src/tensor/create.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { gpt2Tokenizer } from "../../src/tokenizer/gpt2.js";
import { imshow } from "../../src/viz/figures.js";

const G = fileURLToPath(new URL("../../../shared/golden/tl", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "tlens-errors-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type ErrorClass = abstract new (...args: never[]) => Error;

/** What `f` threw (or rejected with); fails the test when it returned. */
async function caught(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure, the call returned");
}

/** `e` is a TlensError of exactly `cls` (its name is the class's) with a message matching `message`. */
function expectTyped(e: unknown, cls: ErrorClass, message: RegExp): void {
  expect(e).toBeInstanceOf(TlensError);
  expect(e).toBeInstanceOf(cls);
  expect((e as Error).name).toBe(cls.name);
  expect((e as Error).message).toMatch(message);
}

/** A 127.0.0.1 port nothing listens on: one the OS just handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("backend/: BackendError, never a plain Error", () => {
  it("a backend that is not there; a js backend registered as the wasm one", async () => {
    expectTyped(
      await caught(() => backendByName("wasm")),
      BackendError,
      /^tlens: the wasm backend is not loaded \(call loadWasmBackend\(\) first\); use the js backend$/,
    );
    expectTyped(
      await caught(() => registerWasmBackend(new JsBackend())),
      BackendError,
      /^tlens: registerWasmBackend takes the wasm backend, got "js"$/,
    );
  });

  it("an op the kernels do not have: on the js backend, and on the native one (which hands unknown ops to js)", async () => {
    const js = new JsBackend();
    const view = { data: new Float32Array(64), offset: 0, shape: [64], strides: [1] };
    const unknownUnary = /^unknown unary op "bogus" \(known: neg, exp, log, /;
    expectTyped(
      await caught(() => js.unary("bogus" as UnaryOp, view, new Float32Array(64))),
      BackendError,
      unknownUnary,
    );
    expectTyped(
      await caught(() => js.reduce("median" as ReduceOp, view, 1, new Float32Array(1))),
      BackendError,
      /^unknown reduce op "median"$/,
    );
    const addon = loadNativeAddon();
    expect(addon, "the native addon (npm ci builds it)").not.toBeNull();
    expectTyped(
      await caught(() => new NativeBackend(addon!).unary("bogus" as UnaryOp, view, new Float32Array(64))),
      BackendError,
      unknownUnary,
    );
  });

  it("the native kernels' own checks (a view outside its buffer) come back as BackendErrors with the C message", async () => {
    const addon = loadNativeAddon();
    expect(addon, "the native addon (npm ci builds it)").not.toBeNull();
    const native = new NativeBackend(addon!);
    const view = { data: new Float32Array(4), offset: 0, shape: [64], strides: [1] }; // 64 elements of a 4-element buffer
    const e = await caught(() => native.unary("exp", view, new Float32Array(64)));
    expectTyped(e, BackendError, /bounds/);
    expect((e as Error).cause).toBeInstanceOf(Error);
    expect((e as Error).cause).not.toBeInstanceOf(TlensError);
    expect(((e as Error).cause as Error).message).toBe((e as Error).message);
  });
});

describe("tensor/: ShapeError and IndexError", () => {
  it("shapes that do not broadcast name both; an index outside a dim names the dim and its size", async () => {
    expectTyped(await caught(() => zeros([2, 3]).add(zeros([4, 5]))), ShapeError, /\[2, 3\].*\[4, 5\]/);
    expectTyped(
      await caught(() => zeros([2, 3]).get(5)),
      IndexError,
      /^index 5 is out of range for dim 0 with size 2$/,
    );
  });
});

describe("tokenizer/: TokenizerError", () => {
  it("a token id outside GPT-2's vocabulary", async () => {
    expectTyped(
      await caught(() => gpt2Tokenizer().decode([50257])),
      TokenizerError,
      /^token id 50257 is out of range: the vocabulary has 50257 tokens \(ids 0\.\.50256\)$/,
    );
  });
});

describe("loading/: LoadError, ConfigError, NetworkError", () => {
  it("a truncated safetensors file", async () => {
    const bytes = writeSafetensors({ w: zeros([4, 4]) });
    const file = join(tmp, "cut.safetensors");
    writeFileSync(file, bytes.subarray(0, bytes.length - 8));
    expectTyped(await caught(() => readSafetensorsFile(file)), LoadError, /cut\.safetensors.*truncated or corrupt/);
  });

  it("a bad config is a ConfigError (a LoadError, so loaders' callers catch it): from makeConfig and from the model", async () => {
    const tiny = { dModel: 8, dHead: 4, nHeads: 2, nLayers: 1, nCtx: 4, dVocab: 10 };
    const divisor = await caught(() => HookedTransformer.fromConfig({ ...tiny, dHead: undefined, nHeads: 3 }));
    expectTyped(divisor, ConfigError, /d_head must be a positive integer; d_model 8 is not divisible by n_heads 3/);
    expect(divisor).toBeInstanceOf(LoadError);
    expectTyped(
      await caught(() => HookedTransformer.fromConfig({ ...tiny, actFn: "bogus" })),
      ConfigError,
      /^unsupported act_fn "bogus"/,
    );
  });

  it("a download from a closed 127.0.0.1 port: a NetworkError once the retries are spent, over the hub and over fetch", async () => {
    const port = await closedPort();
    const hub = await caught(() =>
      downloadModel("org/model", {
        endpoint: `http://127.0.0.1:${port}`,
        cacheDir: join(tmp, "hub"),
        offline: false,
        token: null,
        retries: 1,
        retryDelayMs: 1,
        progressBar: false,
      }),
    );
    expectTyped(
      hub,
      NetworkError,
      new RegExp(
        `^download of http://127\\.0\\.0\\.1:${port}/org/model/resolve/.* failed \\(2 tries\\): 127\\.0\\.0\\.1:${port}: ECONNREFUSED$`,
      ),
    );
    expect(hub).toBeInstanceOf(LoadError);
    expect((hub as Error).cause).toBeInstanceOf(NetworkError);
    const page = await caught(() => fetchBytes(`http://127.0.0.1:${port}/config.json`));
    expectTyped(
      page,
      NetworkError,
      new RegExp(`^http://127\\.0\\.0\\.1:${port}/config\\.json: cannot fetch \\(fetch failed: .*ECONNREFUSED`),
    );
    expect((page as Error).cause).toBeInstanceOf(Error);
  });
});

describe("model/: HookError and ModelError, on the golden GPT-2", () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(G);
  });

  it("an unknown hook name is a HookError with the nearest name", async () => {
    expectTyped(
      await caught(() => model.addHook("blocks.0.attn.hook_patern", () => {})),
      HookError,
      /^unknown hook "blocks\.0\.attn\.hook_patern"; did you mean "blocks\.0\.attn\.hook_pattern"\?$/,
    );
  });

  it("generate with topK 0 is a ModelError", async () => {
    const prompt = Tensor.fromTypedArray(Int32Array.from([1, 2, 3]), [1, 3]);
    expectTyped(
      await caught(() => model.generate(prompt, { topK: 0, maxNewTokens: 1 })),
      ModelError,
      /^topK must be a positive integer, got 0$/,
    );
  });
});

describe("analysis/, datasets/, sae/, jobs/, viz/: each layer's own class", () => {
  it("a steering vector with a NaN coefficient is an AnalysisError", async () => {
    const e = await caught(() =>
      steeringHook({ hook: "blocks.0.hook_resid_pre", vector: zeros([64]), coeff: Number.NaN }),
    );
    expectTyped(e, AnalysisError, /^steering: coeff must be a finite number, got NaN$/);
  });

  it("an IOI dataset of 0 prompts is a DatasetError", async () => {
    expectTyped(
      await caught(() => new IOIDataset({ promptType: "mixed", N: 0 })),
      DatasetError,
      /^IOIDataset: N must be a positive integer, got 0$/,
    );
  });

  it("an SAE trainer's negative batch size is a SaeError", async () => {
    expectTyped(
      await caught(() => resolveTrainOptions({ hookName: "blocks.0.hook_resid_pre", batchSize: -1 })),
      SaeError,
      /^trainSae: batchSize must be a positive number, got -1$/,
    );
  });

  it("a job that is not { spec, shard } is a SpecError, a JobError", async () => {
    const e = await caught(() => validateJobData(null));
    expectTyped(e, SpecError, /^job: expected \{ spec, shard \}$/);
    expect(e).toBeInstanceOf(JobError);
  });

  it("a ragged array for a heatmap is a VizError", async () => {
    expectTyped(await caught(() => imshow([[1, 2], [3]])), VizError, /ragged array/);
  });
});

describe("cli/: CliError", () => {
  it("tlens sae with a --text file that is not there", async () => {
    const missing = join(tmp, "missing.txt");
    const e = await caught(() => saeCommand(["--model", G, "--text", missing, "--out", join(tmp, "sae-out")]));
    expectTyped(e, CliError, new RegExp(`^tlens sae: cannot read --text ${missing.replace(/[.]/g, "\\.")}: ENOENT$`));
  });
});

describe("lab/: how the server answers each class", () => {
  it("a LabError with its status, the library's errors as 400, a BackendError (the server's fault) as 500", async () => {
    expect(describeFailure(new LabError(413, "the body is over 64 KiB"))).toEqual({
      status: 413,
      message: "the body is over 64 KiB",
    });
    const bad = await caught(() => gpt2Tokenizer().decode([-1]));
    expect(describeFailure(bad)).toEqual({ status: 400, message: (bad as Error).message });
    const kernel = await caught(() => backendByName("wasm"));
    expect(describeFailure(kernel)).toEqual({ status: 500, message: `internal error: ${(kernel as Error).message}` });
    expect(describeFailure(new TypeError("x is undefined"))).toEqual({
      status: 500,
      message: "internal error: x is undefined",
    });
  });
});

describe("browser/protocol.ts: a failure in the worker reaches the page as its own class", () => {
  it("tlens's classes cross as themselves; anything else as a WorkerError that names it", () => {
    const wire = encodeError(new ShapeError("add: shapes [2] and [3] do not broadcast"));
    expect(wire).toEqual({ name: "ShapeError", message: "add: shapes [2] and [3] do not broadcast" });
    expectTyped(decodeError(wire.name, wire.message), ShapeError, /^add: shapes \[2\] and \[3\] do not broadcast$/);
    const net = encodeError(new NetworkError("http://x/config.json: cannot fetch (fetch failed)"));
    const back = decodeError(net.name, net.message);
    expectTyped(back, NetworkError, /^http:\/\/x\/config\.json: cannot fetch/);
    expect(back).toBeInstanceOf(LoadError);
    const bug = encodeError(new TypeError("x is undefined"));
    expectTyped(decodeError(bug.name, bug.message), WorkerError, /^TypeError: x is undefined$/);
    const thrown = encodeError("a string");
    expectTyped(decodeError(thrown.name, thrown.message), WorkerError, /^a string$/);
  });
});
