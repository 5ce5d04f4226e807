// A family model by hub repo id, from the 127.0.0.1 hub server: sharded weights (model.safetensors.index.json), the
// tokenizer files when the repo has them, and the HF cache on the second load.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer } from "../../src/index.js";
import { writeSafetensors } from "../../src/loading/safetensors.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { downloadHfFolder } from "../../src/loading/families/fetch.js";
import { byteLevelTokenizerJson } from "../tokenizer/hf-fixtures.js";
import { maxAbsDiff } from "../golden.js";
import { startHubServer, type HubServer, type HubServerFile } from "./hub-server.js";
import { shared } from "./util.js";

const QWEN2 = shared("golden/families/qwen2");
const REPO = "org/qwen2-tiny";
const BARE = "org/qwen2-bare";
let server: HubServer;
let root: string;

/** qwen2's weights in two shards, with the index naming each tensor's shard. */
async function shardedFiles(): Promise<Record<string, HubServerFile>> {
  const { tensors } = await readSafetensorsFile(`${QWEN2}/model.safetensors`);
  const names = [...tensors.keys()];
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const files: Record<string, HubServerFile> = {};
  const weightMap: Record<string, string> = {};
  shards.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    files[file] = {
      data: Buffer.from(writeSafetensors(new Map(part.map((n) => [n, tensors.get(n)!])), { format: "pt" })),
      lfs: true,
    };
    for (const n of part) weightMap[n] = file;
  });
  files["model.safetensors.index.json"] = {
    data: Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap })),
    lfs: false,
  };
  return files;
}

beforeAll(async () => {
  const config = { data: readFileSync(`${QWEN2}/config.json`), lfs: false };
  const tokenizer = {
    data: Buffer.from(JSON.stringify(byteLevelTokenizerJson(["h e", "l l", "he ll", "hell o"]))),
    lfs: false,
  };
  const tokenizerConfig = { data: Buffer.from(JSON.stringify({ eos_token: "<|endoftext|>" })), lfs: false };
  const weights = { data: readFileSync(`${QWEN2}/model.safetensors`), lfs: true };
  server = await startHubServer(
    {
      [REPO]: {
        commit: "c".repeat(40),
        files: {
          "config.json": config,
          ...(await shardedFiles()),
          "tokenizer.json": tokenizer,
          "tokenizer_config.json": tokenizerConfig,
        },
      },
      [BARE]: { commit: "d".repeat(40), files: { "config.json": config, "model.safetensors": weights } },
    },
    {},
  );
  root = mkdtempSync(join(tmpdir(), "tlens-famhub-"));
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const opts = (cacheDir: string) => ({
  endpoint: server.endpoint,
  cacheDir,
  offline: false,
  token: null,
  progressBar: false,
  retries: 0,
  retryDelayMs: 0,
});

describe("family models from the hub", () => {
  it("fetches sharded weights and the tokenizer, and gives TL's logits", async () => {
    const cache = join(root, "a");
    const dir = await downloadHfFolder(REPO, opts(cache));
    const model = await HookedTransformer.fromPretrainedNoProcessing(dir);
    const tokens = (await readSafetensorsFile(`${QWEN2}/inputs.safetensors`)).tensors.get("tokens")!;
    const golden = (await readSafetensorsFile(`${QWEN2}/outputs.safetensors`)).tensors.get("raw/logits")!;
    expect(maxAbsDiff((await model.forward(tokens)) as never, golden)).toBeLessThan(1e-4);
    // the repo's tokenizer, BOS from config.json (511), EOS from tokenizer_config.json
    expect(model.tokenizer?.encode("hello")).toEqual([259]);
    expect([model.tokenizer?.bosTokenId, model.tokenizer?.eosTokenId]).toEqual([511, 260]);
    // the second call is served from the cache
    const before = server.requests.length;
    expect(await downloadHfFolder(REPO, { ...opts(cache), offline: true })).toBe(dir);
    expect(server.requests.length).toBe(before);
  });

  it("a repo without tokenizer files loads and runs on token ids; fromPretrained takes the repo id", async () => {
    const saved = { e: process.env.HF_ENDPOINT, c: process.env.HF_HUB_CACHE, o: process.env.HF_HUB_OFFLINE };
    process.env.HF_ENDPOINT = server.endpoint;
    process.env.HF_HUB_CACHE = join(root, "b");
    delete process.env.HF_HUB_OFFLINE;
    try {
      const model = await HookedTransformer.fromPretrained(BARE);
      expect(model.tokenizer).toBeNull();
      const logits = (await model.forward([[511, 3, 4, 5]])) as never as { shape: number[] };
      expect(logits.shape).toEqual([1, 4, 512]);
    } finally {
      for (const [k, v] of [
        ["HF_ENDPOINT", saved.e],
        ["HF_HUB_CACHE", saved.c],
        ["HF_HUB_OFFLINE", saved.o],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
