// fromPretrained("gpt2") end to end through the hub protocol: a real HTTP server on 127.0.0.1 serves
// toy-ioi's files as the "gpt2" repo; the model is downloaded into a temporary HF_HOME and then loaded offline.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { HookedTransformer, LoadError } from "../../src/index.js";
import { startHubServer, type HubServer } from "../loading/hub-server.js";
import { shared } from "../loading/util.js";

let server: HubServer;
let home: string;
const saved = { ...process.env };

beforeAll(async () => {
  const files = {
    "config.json": { data: readFileSync(shared("models/toy-ioi/config.json")), lfs: false },
    "model.safetensors": { data: readFileSync(shared("models/toy-ioi/model.safetensors")), lfs: true },
  };
  server = await startHubServer({ gpt2: { commit: "c".repeat(40), files } });
  home = mkdtempSync(join(tmpdir(), "tlens-hf-home-"));
  process.env.HF_HOME = home;
  process.env.HF_ENDPOINT = server.endpoint;
  delete process.env.HF_HUB_CACHE;
  delete process.env.HF_HUB_OFFLINE;
});

afterAll(async () => {
  process.env = saved;
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

it("downloads gpt2-small into the HF cache, then loads it offline with no request", async () => {
  const model = await HookedTransformer.fromPretrained("gpt2-small");
  expect(model.cfg.nLayers).toBe(4);
  const logits = await model.forward("When Mary and John went to the store, John gave a drink to", {
    logitPositions: "last",
  });
  expect(model.toStrTokens(logits.get(0, 0).argmax().reshape(1))).toEqual([" Mary"]);
  server.requests.length = 0;
  process.env.HF_HUB_OFFLINE = "1";
  const again = await HookedTransformer.fromPretrained("gpt2");
  expect(again.cfg.dModel).toBe(128);
  expect(server.requests).toEqual([]);
  await expect(HookedTransformer.fromPretrained("gpt2-xl")).rejects.toThrow(LoadError);
});
