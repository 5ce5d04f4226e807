// Family models over fetch (src/browser/fetch-model.ts), from a 127.0.0.1 static server: qwen2's golden folder as
// two shards with a tokenizer.json, and as one file without tokenizer files. In Node, fetchPretrainedWeights gives
// the file loader's exact weights; in headless Chromium, HookedTransformer.fromPretrained(url) gives TL's logits.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchPretrainedWeights } from "../../src/browser/fetch-model.js";
import { loadHfModelDir } from "../../src/loading/fs.js";
import { writeSafetensors } from "../../src/loading/safetensors.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { byteLevelTokenizerJson } from "../tokenizer/hf-fixtures.js";
import { maxAbsDiff } from "../golden.js";
import { shared } from "../loading/util.js";
import { openBrowserSession, serveStatic, TOY_IOI_DIR, type BrowserSession, type TlensModule } from "./harness.js";

const QWEN2 = shared("golden/families/qwen2");
let root: string;

/** root/sharded: qwen2 in two BF16 shards + index + tokenizer files; root/bare: config.json + model.safetensors. */
async function writeFolders(): Promise<void> {
  root = mkdtempSync(join(tmpdir(), "tlens-famfetch-"));
  for (const d of ["sharded", "bare"]) {
    mkdirSync(join(root, d));
    copyFileSync(`${QWEN2}/config.json`, join(root, d, "config.json"));
  }
  copyFileSync(`${QWEN2}/model.safetensors`, join(root, "bare", "model.safetensors"));
  const { tensors } = await readSafetensorsFile(`${QWEN2}/model.safetensors`);
  const names = [...tensors.keys()],
    weightMap: Record<string, string> = {};
  [names.slice(0, 9), names.slice(9)].forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeFileSync(
      join(root, "sharded", file),
      writeSafetensors(new Map(part.map((n) => [n, tensors.get(n)!])), { format: "pt" }, { floatDtype: "BF16" }),
    );
    for (const n of part) weightMap[n] = file;
  });
  writeFileSync(
    join(root, "sharded", "model.safetensors.index.json"),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
  writeFileSync(
    join(root, "sharded", "tokenizer.json"),
    JSON.stringify(byteLevelTokenizerJson(["h e", "l l", "he ll", "hell o"])),
  );
  writeFileSync(join(root, "sharded", "tokenizer_config.json"), JSON.stringify({ eos_token: "<|endoftext|>" }));
}

beforeAll(writeFolders);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("family models over fetch, in Node", () => {
  it("sharded BF16 with a tokenizer, a bare single file, and GPT-2: the file loader's weights exactly", async () => {
    const server = await serveStatic({ "/m/toy-ioi/": TOY_IOI_DIR, "/m/": root });
    try {
      // GPT-2 (toy-ioi: GPT-2's tokenizer for its vocabulary) goes the same way
      for (const [folder, hasTokenizer] of [
        ["sharded", true],
        ["bare", false],
        ["toy-ioi", true],
      ] as const) {
        const fetched = await fetchPretrainedWeights(`${server.url}/m/${folder}/`);
        const local = await loadHfModelDir(folder === "toy-ioi" ? TOY_IOI_DIR : join(root, folder));
        expect(fetched.cfg).toEqual(local.cfg);
        expect([...fetched.weights.keys()].sort()).toEqual([...local.weights.keys()].sort());
        for (const [k, w] of local.weights) expect([k, maxAbsDiff(fetched.weights.get(k)!, w)]).toEqual([k, 0]);
        expect(fetched.tokenizer !== null).toBe(hasTokenizer);
      }
      const tok = (await fetchPretrainedWeights(`${server.url}/m/sharded/config.json`)).tokenizer!;
      expect(tok.decode(tok.encode("hello"))).toBe("hello");
      await expect(fetchPretrainedWeights(`${server.url}/m/none/`)).rejects.toThrow(/config\.json: HTTP 404/);
    } finally {
      await server.close();
    }
  });
});

describe("family models in Chromium", () => {
  let session: BrowserSession;
  beforeAll(async () => {
    session = await openBrowserSession({ models: { "/models/fam/": root } });
  });
  afterAll(async () => {
    await session?.close();
  });

  it("HookedTransformer.fromPretrained(url) on the bare qwen2 folder gives TL's processed logits", async () => {
    const { tensors: inputs } = await readSafetensorsFile(`${QWEN2}/inputs.safetensors`);
    const tokens = inputs.get("tokens")!;
    const rows = Array.from({ length: tokens.shape[0]! }, (_, b) =>
      Array.from(tokens.dataSync().slice(b * tokens.shape[1]!, (b + 1) * tokens.shape[1]!), Number),
    );
    const got = await session.page.evaluate(
      async ({ rows }) => {
        const tlens = (window as unknown as { tlens: TlensModule }).tlens;
        await tlens.initBackend();
        const model = await tlens.HookedTransformer.fromPretrained("/models/fam/bare/");
        const logits = await model.forward(tlens.tensor(rows, undefined, "int32"));
        return {
          shape: logits.shape,
          data: Array.from(logits.dataSync() as Float32Array),
          arch: model.cfg.originalArchitecture,
        };
      },
      { rows },
    );
    const want = (await readSafetensorsFile(`${QWEN2}/outputs.safetensors`)).tensors.get("processed/logits")!;
    expect([got.arch, got.shape]).toEqual(["Qwen2ForCausalLM", want.shape]);
    const w = want.dataSync();
    expect(got.data.reduce((m, v, i) => Math.max(m, Math.abs(v - w[i]!)), 0)).toBeLessThanOrEqual(1e-4);
    // the only page errors: Chromium's log line for the 404 of the optional tokenizer.json
    expect(session.errors.filter((e) => !/404/.test(e))).toEqual([]);
  });
});
