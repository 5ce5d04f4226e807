// `tlens circuit` as a subprocess on toy-ioi: circuit.json's scores against the library called directly, the
// circuit kept, and the report in headless Chromium (every item drawn, no console errors, no requests).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { withOfflineReport } from "./report-page.js";
import { attribution, HookedTransformer } from "../../src/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface CircuitJson {
  model: string;
  task: string;
  method: string;
  steps: number;
  metric: { clean: number; corrupted: number };
  graph: attribution.GraphJson;
  node_attribution: { resid_pre: number[][]; head_out_all_pos: number[][] };
  patching: { head_out_all_pos: number[][] };
  scatter: { pearson: number; spearman: number; labels: string[] };
  faithfulness: { sizes: number[]; circuit: number[]; random: number[][] };
}

describe("tlens circuit --model toy-ioi --task ioi --method eap-ig", () => {
  const out = join(mkdtempSync(join(tmpdir(), "tlens-circuit-cli-")), "report");
  let run: ReturnType<typeof spawnSync>;
  let json: CircuitJson;
  beforeAll(() => {
    run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "circuit",
        "--model",
        "toy-ioi",
        "--task",
        "ioi",
        "--method",
        "eap-ig",
        "--steps",
        "3",
        "--n",
        "8",
        "--top",
        "40",
        "--out",
        out,
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 180_000 },
    );
    if (run.status === 0) json = JSON.parse(readFileSync(join(out, "circuit.json"), "utf8")) as CircuitJson;
  }, 200_000);

  it("writes circuit.json whose scores are attributeEdges' on the same task", async () => {
    expect(run.status, String(run.stderr)).toBe(0);
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const task = attribution.ioiTask(model, { n: 8 });
    const g = await attribution.attributeEdges(model, {
      clean: task.clean,
      corrupted: task.corrupted,
      metric: task.metric,
      method: "eap-ig",
      steps: 3,
    });
    const got = attribution.graphFromJson(json.graph);
    expect(got.edges.length).toBe(attribution.edgeCount(model.cfg));
    const a = got.scores();
    const b = g.scores();
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThanOrEqual(1e-4 * Math.max(...b.map(Math.abs)));
    expect(got.countIncludedEdges()).toBeGreaterThan(0);
    expect(got.countIncludedEdges()).toBeLessThanOrEqual(40);
    expect(json.metric.clean).toBeCloseTo(task.metric(await model.forward(task.clean)).item(), 4);
    expect(json.node_attribution.head_out_all_pos.length).toBe(model.cfg.nLayers);
    // the whole graph recovers the whole metric
    expect(json.faithfulness.sizes.at(-1)).toBe(got.edges.length);
    expect(json.faithfulness.circuit.at(-1)).toBeCloseTo(1, 3);
    expect(json.faithfulness.random.length).toBe(3);
    expect(json.scatter.pearson).toBeCloseTo(
      attribution.pearson(json.node_attribution.head_out_all_pos.flat(), json.patching.head_out_all_pos.flat()),
      9,
    );
  }, 120_000);

  it("the report renders offline in Chromium with no console errors", async () => {
    expect(run.status).toBe(0);
    await withOfflineReport(out, async ({ url, errors, requests, states }) => {
      expect(states.length).toBeGreaterThanOrEqual(5);
      expect(states.every((s) => s === "1")).toBe(true);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => u !== url)).toEqual([]);
    });
  }, 120_000);

  it("refuses a bad task or method with a one-line error", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "circuit", "--task", "sorting"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--task: one of ioi, greater-than, induction/);
    const m = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "circuit", "--method", "acdc"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(m.status).not.toBe(0);
    expect(m.stderr).toMatch(/--method: one of eap, eap-ig, eap-ig-activations \(got acdc\)/);
  });

  it("runs EAP-IG on activations (--method eap-ig-activations) and records it", () => {
    const out2 = mkdtempSync(join(tmpdir(), "tlens-circuit-act-"));
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "circuit",
        "--model",
        "toy-ioi",
        "--task",
        "ioi",
        "--method",
        "eap-ig-activations",
        "--steps",
        "2",
        "--n",
        "4",
        "--top",
        "20",
        "--out",
        out2,
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 180_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out2, "circuit.json"), "utf8")) as CircuitJson;
    expect(json.method).toBe("eap-ig-activations");
    expect(json.steps).toBe(2);
  }, 180_000);
});
