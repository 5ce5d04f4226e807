// The lab's attribution panel on toy-ioi: its numbers are the library's attribution patching (attrPatchNodes)
// normalised by the clean − corrupted metric, its circuit is attributeEdges' graph with the top-n edges kept; bad
// requests are 400s that say what to fix; and POST /api/attribution over real HTTP on 127.0.0.1 answers the same.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attribution, Tensor, type HookedTransformer } from "../../src/index.js";
import type { LabModel } from "../../src/lab/compute.js";
import type { AttributionResponse } from "../../src/lab/protocol.js";
import type { LabServer } from "../../src/lab/server.js";
import { LabError, validateAttribution } from "../../src/lab/validate.js";
import { IOI_CLEAN, IOI_CORRUPTED, postJson, startToyLab, toyLab } from "./helpers.js";

let lab: LabModel;
let model: HookedTransformer;
beforeAll(async () => {
  lab = await toyLab();
  model = lab.model;
});

const REQ = { clean: IOI_CLEAN, corrupted: IOI_CORRUPTED, answer: " Mary", other: " John" };

/** The same estimate from the library: tokens, metric and normalisation written out here. */
async function expected(): Promise<{ resid: number[][]; heads: number[][]; clean: number; corrupted: number }> {
  const tok = model.tokenizer!;
  const ids = (s: string): Tensor => model.toTokens(s);
  const [mary, john] = [tok.encode(" Mary")[0], tok.encode(" John")[0]];
  const metric = (logits: Tensor): Tensor => {
    const last = logits.get(0, -1);
    return last.get(mary!).sub(last.get(john!));
  };
  const [clean, corrupted] = [ids(IOI_CLEAN), ids(IOI_CORRUPTED)];
  const mClean = metric(await model.forward(clean)).item();
  const mCorrupted = metric(await model.forward(corrupted)).item();
  const o = { clean, corrupted, metric };
  const resid = (await attribution.attrPatchResidPre(model, o)).div(mClean - mCorrupted).toArray() as number[][];
  const heads = (await attribution.attrPatchAttnHeadOutAllPos(model, o))
    .div(mClean - mCorrupted)
    .toArray() as number[][];
  return { resid, heads, clean: mClean, corrupted: mCorrupted };
}

function expectClose(got: number[][], want: number[][], what: string): void {
  expect(got.length).toBe(want.length);
  got.forEach((row, l) =>
    row.forEach((v, i) => expect(Math.abs(v - want[l]![i]!), `${what}[${l}][${i}]`).toBeLessThanOrEqual(1e-4)),
  );
}

describe("lab attribution", () => {
  it("resid_pre [layer, pos] and heads [layer, head] are the library's estimates, normalised", async () => {
    const r = await lab.attribution(validateAttribution(model, REQ));
    const want = await expected();
    expect(r.clean).toBeCloseTo(want.clean, 4);
    expect(r.corrupted).toBeCloseTo(want.corrupted, 4);
    expect([r.residPre.length, r.residPre[0]!.length]).toEqual([4, model.toTokens(IOI_CLEAN).shape[1]]);
    expect([r.heads.length, r.heads[0]!.length]).toEqual([4, 4]);
    expectClose(r.residPre, want.resid, "residPre");
    expectClose(r.heads, want.heads, "heads");
    // the prompts differ at one position, so the estimate there is not zero
    expect(r.residPre[0]!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(r.residPreFigure.data[0]).toMatchObject({ type: "heatmap" });
    expect(r.headsFigure.data[0]).toMatchObject({ type: "heatmap" });
    expect([r.circuit, r.edges, r.circuitEdges]).toEqual([null, 0, 0]);
  });

  it("with a circuit: the EAP-IG graph's scores, the top-n edges kept, drawn by the circuit viewer", async () => {
    const r = await lab.attribution(validateAttribution(model, { ...REQ, circuit: "eap-ig", topN: 30 }));
    const graph = await attribution.attributeEdges(model, {
      clean: model.toTokens(IOI_CLEAN),
      corrupted: model.toTokens(IOI_CORRUPTED),
      method: "eap-ig",
      metric: (logits: Tensor) => {
        const last = logits.get(0, -1);
        return last.get(model.tokenizer!.encode(" Mary")[0]!).sub(last.get(model.tokenizer!.encode(" John")[0]!));
      },
    });
    const kept = attribution.applyTopN(graph, 30);
    expect(r.edges).toBe(479);
    expect(r.circuitEdges).toBe(kept);
    expect(kept).toBeGreaterThan(0);
    expect(r.circuit?.tlensViewer).toBe("circuit");
    expect(r.circuit?.title).toContain(`${kept} on an input → logits path`);
  });

  it("refuses bad requests with a message that says what to fix", () => {
    const bad = (body: object, message: RegExp): void => {
      let err: unknown;
      try {
        validateAttribution(model, body);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LabError);
      expect((err as LabError).status).toBe(400);
      expect((err as LabError).message).toMatch(message);
    };
    bad({ ...REQ, corrupted: "Too short" }, /same number of tokens/);
    bad({ ...REQ, circuit: "acdc" }, /circuit must be one of none, eap, eap-ig, got "acdc"/);
    bad({ ...REQ, topN: 0 }, /topN must be an integer from 1 to 479/);
    bad({ ...REQ, topN: 480 }, /topN must be an integer from 1 to 479/);
    bad({ ...REQ, kind: "resid_pre" }, /unknown field "kind"/);
    bad({ ...REQ, answer: " Mary Jane" }, /not a single token/);
  });

  it("a pair whose metric does not change is refused", async () => {
    await expect(lab.attribution(validateAttribution(model, { ...REQ, corrupted: IOI_CLEAN }))).rejects.toThrow(
      /nothing to restore/,
    );
  });
});

describe("POST /api/attribution on 127.0.0.1", () => {
  let server: LabServer;
  beforeAll(async () => {
    server = await startToyLab();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers the same numbers as the compute function, and 400 for a bad request", async () => {
    const { status, json } = await postJson(`${server.url}/api/attribution`, { ...REQ, circuit: "eap", topN: 20 });
    expect(status).toBe(200);
    const r = json as unknown as AttributionResponse;
    const direct = await lab.attribution(validateAttribution(model, { ...REQ, circuit: "eap", topN: 20 }));
    expectClose(r.residPre, direct.residPre, "residPre");
    expectClose(r.heads, direct.heads, "heads");
    expect([r.edges, r.circuitEdges]).toEqual([direct.edges, direct.circuitEdges]);
    expect(r.circuit?.tlensViewer).toBe("circuit");
    const badReq = await postJson(`${server.url}/api/attribution`, { ...REQ, topN: "many" });
    expect(badReq.status).toBe(400);
    expect(badReq.json.error).toMatch(/topN must be an integer/);
  });
});
