// Figure objects: the structure each builder returns, checked against what the seeds' calls ask for.
import { describe, expect, it } from "vitest";
import { Tensor, viz } from "../../src/index.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions walk plotly figure JSON by key paths
type Obj = Record<string, any>;
const t2 = (rows: number[][]): Tensor =>
  Tensor.fromTypedArray(Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
const grid = (r: number, c: number, f = (i: number, j: number) => i * c + j - 3): number[][] =>
  Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => f(i, j)));

describe("imshow", () => {
  it("seed 002's head heatmap: RdBu centred at 0, axis labels, rows top-down", () => {
    // imshow(per_head_logit_diffs, labels={"x": "Head", "y": "Layer"}, title="Logit Difference From Each Head", width=800)
    const fig = viz.imshow(
      t2([
        [1, -2],
        [0.5, 4],
      ]),
      { labels: { x: "Head", y: "Layer" }, title: "Logit Difference From Each Head", width: 800 },
    );
    expect(fig.data).toHaveLength(1);
    const tr = fig.data[0] as Obj;
    expect(tr.type).toBe("heatmap");
    expect(tr.z).toEqual([
      [1, -2],
      [0.5, 4],
    ]);
    expect(tr.coloraxis).toBe("coloraxis");
    const L = fig.layout as Obj;
    expect(L.coloraxis.cmid).toBe(0);
    expect([L.coloraxis.cmin, L.coloraxis.cmax]).toEqual([-4, 4]);
    expect(L.coloraxis.colorscale[0]).toEqual([0, "rgb(103,0,31)"]); // red for negative
    expect(L.coloraxis.colorscale.at(-1)).toEqual([1, "rgb(5,48,97)"]); // blue for positive
    expect(L.coloraxis.colorscale[5]).toEqual([0.5, "rgb(247,247,247)"]);
    expect(L.xaxis.title.text).toBe("Head");
    expect(L.yaxis.title.text).toBe("Layer");
    expect(L.yaxis.autorange).toBe("reversed");
    expect(L.yaxis.scaleanchor).toBe("x");
    expect(L.title.text).toBe("Logit Difference From Each Head");
    expect(L.width).toBe(800);
    expect(tr.hovertemplate).toContain("Head: %{x}");
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig); // plain JSON
  });

  it("zmin/zmax (seed 002's OV copying score) and neel_plotly's xaxis/yaxis strings", () => {
    const fig = viz.imshow(grid(3, 3), { xaxis: "Head", yaxis: "Layer", zmin: -1, zmax: 1 });
    const L = fig.layout as Obj;
    expect([L.coloraxis.cmin, L.coloraxis.cmax]).toEqual([-1, 1]);
    expect(L.coloraxis.cmid).toBeUndefined();
    expect(L.xaxis.title.text).toBe("Head");
    expect(L.yaxis.title.text).toBe("Layer");
  });

  it("x tick labels (seed 002's position labels), duplicates kept apart", () => {
    const unique = viz.imshow(grid(2, 3), { x: ["IO", "S1", "end"], labels: { x: "Position", y: "Layer" } });
    expect((unique.data[0] as Obj).x).toEqual(["IO", "S1", "end"]);
    const dup = viz.imshow(grid(2, 3), { x: [" John", " and", " John"] });
    const tr = dup.data[0] as Obj;
    expect(tr.x).toEqual([0, 1, 2]);
    expect((dup.layout as Obj).xaxis.ticktext).toEqual([" John", " and", " John"]);
    expect(tr.customdata[1][2]).toEqual([" John", "1"]);
    expect(() => viz.imshow(grid(2, 3), { x: ["a", "b"] })).toThrow(/2 labels for 3 columns/);
  });

  it("facet_col with facet labels (seed 002's get_act_patch_block_every plot)", () => {
    const t = Tensor.fromTypedArray(
      Float32Array.from({ length: 3 * 2 * 4 }, (_, i) => i - 10),
      [3, 2, 4],
    );
    const fig = viz.imshow(t, {
      x: ["a", "b", "c", "d"],
      facet_col: 0,
      facet_labels: ["Residual Stream", "Attn Output", "MLP Output"],
      title: "Logit Difference From Patched Attn Head Output",
      labels: { x: "Sequence Position", y: "Layer" },
      width: 1400,
    } as viz.ImshowOptions);
    expect(fig.data).toHaveLength(3);
    expect(fig.data.map((d: Obj) => [d.xaxis, d.yaxis])).toEqual([
      ["x", "y"],
      ["x2", "y2"],
      ["x3", "y3"],
    ]);
    expect((fig.data[1] as Obj).z).toEqual([
      [-2, -1, 0, 1],
      [2, 3, 4, 5],
    ]);
    const L = fig.layout as Obj;
    expect(L.annotations.map((a: Obj) => a.text)).toEqual(["Residual Stream", "Attn Output", "MLP Output"]);
    expect(L.xaxis.domain[0]).toBe(0);
    expect(L.xaxis3.domain[1]).toBeCloseTo(1, 6);
    expect(L.xaxis.domain[1]).toBeLessThan(L.xaxis2.domain[0]);
    expect(L.xaxis2.matches).toBe("x");
    expect(L.yaxis2.showticklabels).toBe(false);
    expect([L.coloraxis.cmin, L.coloraxis.cmax]).toEqual([-13, 13]); // one colour scale over all facets
    // a facet dim other than 0
    const f2 = viz.imshow(t, { facetCol: 2 });
    expect(f2.data).toHaveLength(4);
    expect((f2.data[1] as Obj).z).toEqual([
      [-9, -5],
      [-1, 3],
      [7, 11],
    ]);
    expect(() => viz.imshow(t)).toThrow(/facetCol \/ animationFrame/);
    expect(() => viz.imshow(t, { facetCol: 0, facetLabels: ["a"] })).toThrow(/1 facetLabels for 3 facets/);
  });

  it("facetColWrap puts facets on several rows", () => {
    const fig = viz.imshow([grid(2, 2), grid(2, 2), grid(2, 2), grid(2, 2)], { facetCol: 0, facetColWrap: 2 });
    const L = fig.layout as Obj;
    expect(L.yaxis.domain[0]).toBeGreaterThan(L.yaxis3.domain[1]);
    expect(L.xaxis3.domain).toEqual(L.xaxis.domain);
  });

  it("animation frames with a slider and play button", () => {
    const fig = viz.imshow([grid(2, 2), grid(2, 2, () => 7)], { animationFrame: 0, animationLabels: ["a", "b"] });
    expect(fig.frames).toHaveLength(2);
    expect(fig.frames![1]!.name).toBe("b");
    expect((fig.frames![1]!.data[0] as Obj).z).toEqual([
      [7, 7],
      [7, 7],
    ]);
    expect((fig.data[0] as Obj).z).toEqual(grid(2, 2));
    const L = fig.layout as Obj;
    expect(L.sliders[0].steps.map((s: Obj) => s.args[0][0])).toEqual(["a", "b"]);
    expect(L.updatemenus[0].buttons).toHaveLength(2);
    expect([L.coloraxis.cmin, L.coloraxis.cmax]).toEqual([-7, 7]); // range over every frame
    // frames and facets together: [frame, facet, row, col]
    const four = Array.from({ length: 2 }, (_, f) => Array.from({ length: 3 }, (_, c) => grid(2, 2, () => f * 10 + c)));
    const both = viz.imshow(four, { animationFrame: 0, facetCol: 1 });
    expect(both.data).toHaveLength(3);
    expect((both.frames![1]!.data[2] as Obj).z).toEqual([
      [12, 12],
      [12, 12],
    ]);
    const swapped = viz.imshow(four, { animationFrame: 1, facetCol: 0 });
    expect(swapped.frames).toHaveLength(3);
    expect((swapped.frames![2]!.data[1] as Obj).z).toEqual([
      [12, 12],
      [12, 12],
    ]);
  });

  it("per-cell text (seed 001's component labels) and text_auto", () => {
    const text = [
      ["W_E", "W_pos", "b_K"],
      ["0.0", "0.1", "MLP0"],
    ];
    const fig = viz.imshow(grid(2, 3), { text, textfont: { size: 12 }, border: true, y: ["misc", "0"] });
    const tr = fig.data[0] as Obj;
    expect(tr.text).toEqual(text);
    expect(tr.texttemplate).toBe("%{text}");
    expect(tr.textfont).toEqual({ size: 12 });
    expect([tr.xgap, tr.ygap]).toEqual([1, 1]);
    expect((viz.imshow(grid(2, 2), { textAuto: ".2f" }).data[0] as Obj).texttemplate).toBe("%{z:.2f}");
  });

  it("colour options: midpoint null, other scales, labels.color on the colour bar", () => {
    const fig = viz.imshow(
      [
        [0, 0.5],
        [1, 0.25],
      ],
      { colorContinuousMidpoint: null, colorContinuousScale: "Blues", labels: { color: "Logit diff. variation" } },
    );
    const C = (fig.layout as Obj).coloraxis;
    expect([C.cmin, C.cmax]).toEqual([0, 1]);
    expect(C.colorscale[0][1]).toBe("rgb(247,251,255)");
    expect(C.colorbar.title.text).toBe("Logit diff. variation");
    expect((viz.imshow([[1]], { colorContinuousScale: "YlGnBu" }).layout as Obj).coloraxis.colorscale).toBe("YlGnBu");
    expect((viz.imshow([[1]], { colorContinuousScale: "RdBu_r" }).layout as Obj).coloraxis.colorscale[0][1]).toBe(
      "rgb(5,48,97)",
    );
  });

  it("NaN becomes a gap, and unknown options are errors", () => {
    expect((viz.imshow([[NaN, 1]]).data[0] as Obj).z).toEqual([[null, 1]]);
    expect(() => viz.imshow([[1]], { facetcol: 0 } as unknown as viz.ImshowOptions)).toThrow(
      /unknown option "facetcol"/,
    );
  });
});

describe("line", () => {
  it("seed 002's logit lens line: x values, hover names, labels", () => {
    const labels = ["0_pre", "0_mid", "1_pre", "1_mid", "final_post"];
    const fig = viz.line([0.1, 0.2, 0.5, 1.5, 3], {
      x: [0, 0.5, 1, 1.5, 2],
      hover_name: labels,
      labels: { x: "Layer", y: "Logit Diff" },
      title: "Logit Difference From Accumulate Residual Stream",
    } as viz.LineOptions);
    const tr = fig.data[0] as Obj;
    expect(tr).toMatchObject({
      type: "scatter",
      mode: "lines",
      x: [0, 0.5, 1, 1.5, 2],
      y: [0.1, 0.2, 0.5, 1.5, 3],
      hovertext: labels,
    });
    expect(tr.hovertemplate).toContain("<b>%{hovertext}</b>");
    expect(tr.hovertemplate).toContain("Layer=%{x}");
    expect((fig.layout as Obj).xaxis.title.text).toBe("Layer");
    expect((fig.layout as Obj).yaxis.title.text).toBe("Logit Diff");
  });

  it("several lines from a 2-D tensor, with names", () => {
    const fig = viz.line(
      t2([
        [1, 2, 3],
        [3, 2, 1],
      ]),
      { names: ["a", "b"], markers: true },
    );
    expect(fig.data.map((d: Obj) => [d.name, d.mode, d.showlegend])).toEqual([
      ["a", "lines+markers", true],
      ["b", "lines+markers", true],
    ]);
    expect((fig.data[1] as Obj).x).toEqual([0, 1, 2]);
    expect(() => viz.line([1, 2], { hoverName: ["x"] })).toThrow(/1 hoverName entries for 2 points/);
  });
});

describe("scatter", () => {
  it("seed 002's value-vs-output patching scatter: hover names, colour by layer, ranges, axis names", () => {
    const heads = ["L0H0", "L0H1", "L1H0", "L1H1"];
    const fig = viz.scatter(Tensor.fromTypedArray(Float32Array.from([0.1, 0.2, 0.3, 0.4]), [4]), [1, 2, 3, 4], {
      xaxis: "Value Patch",
      yaxis: "Output Patch",
      caxis: "Layer",
      hover_name: heads,
      color: [0, 0, 1, 1],
      range_x: [-0.5, 0.5],
      range_y: [-0.5, 0.5],
      title: "Scatter plot of output patching vs value patching",
    } as viz.ScatterOptions);
    const tr = fig.data[0] as Obj;
    expect(tr.mode).toBe("markers");
    expect(tr.x[2]).toBeCloseTo(0.3, 6);
    expect(tr.hovertext).toEqual(heads);
    expect(tr.marker.color).toEqual([0, 0, 1, 1]);
    const L = fig.layout as Obj;
    expect(L.coloraxis.colorbar.title.text).toBe("Layer");
    expect(L.xaxis.range).toEqual([-0.5, 0.5]);
    expect(L.yaxis.range).toEqual([-0.5, 0.5]);
    expect(L.xaxis.title.text).toBe("Value Patch");
  });

  it("seed 002's Figure 3(c): colour by group with a discrete sequence", () => {
    const fig = viz.scatter([0.1, 0.2, 0.3], [1, 2, 3], {
      color: ["IO", "S", "IO"],
      labels: { x: "Attn prob on name", y: "Dot w Name Embed", color: "Name type" },
      color_discrete_sequence: ["#72FF64", "#C9A5F7"],
      width: 650,
    } as viz.ScatterOptions);
    expect(fig.data.map((d: Obj) => [d.name, d.x, d.marker.color])).toEqual([
      ["IO", [0.1, 0.3], "#72FF64"],
      ["S", [0.2], "#C9A5F7"],
    ]);
    expect((fig.layout as Obj).legend.title.text).toBe("Name type");
  });
});

describe("bar", () => {
  it("seed 002's minimality plot: groups by colour, template, layout keywords", () => {
    const fig = viz.bar([0.1, 0.2, 0.05], {
      x: ["(9, 9)", "(9, 6)", "(2, 2)"],
      labels: { x: "Attention head", y: "Change in logit diff", color: "Head type" },
      color: ["Name mover head", "Name mover head", "Previous token head"],
      template: "ggplot2",
      color_discrete_sequence: viz.qualitative.Dark2,
      bargap: 0.02,
      yaxis_tickformat: ".0%",
      legend_title_text: "",
      title: "Plot of minimality scores",
      width: 800,
      hovermode: "x unified",
    } as viz.BarOptions);
    expect(fig.data.map((d: Obj) => [d.type, d.name, d.x, d.y])).toEqual([
      ["bar", "Name mover head", ["(9, 9)", "(9, 6)"], [0.1, 0.2]],
      ["bar", "Previous token head", ["(2, 2)"], [0.05]],
    ]);
    expect((fig.data[1] as Obj).marker.color).toBe(viz.qualitative.Dark2[1]);
    const L = fig.layout as Obj;
    expect(L.bargap).toBe(0.02);
    expect(L.yaxis.tickformat).toBe(".0%");
    expect(L.yaxis.title.text).toBe("Change in logit diff");
    expect(L.legend.title.text).toBe("");
    expect(L.hovermode).toBe("x unified");
    expect(L.template.layout.plot_bgcolor).toBe("rgb(237,237,237)");
  });

  it("seed 002's attention-to-positions bars: several series with error bars", () => {
    const fig = viz.bar(
      [
        [0.5, 0.1],
        [0.2, 0.6],
      ],
      {
        x: ["IO", "S1"],
        names: ["(9, 9)", "(9, 6)"],
        errorY: [
          [0.1, 0.01],
          [0.02, 0.2],
        ],
      },
    );
    expect(fig.data.map((d: Obj) => [d.name, d.error_y.array])).toEqual([
      ["(9, 9)", [0.1, 0.01]],
      ["(9, 6)", [0.02, 0.2]],
    ]);
    expect((fig.layout as Obj).barmode).toBe("group");
  });
});

describe("hist", () => {
  it("seed 000's histogram: names, marginal box, opacity, nbins, legend-only series", () => {
    const a = [1, 2, 3],
      b = Tensor.fromTypedArray(Float32Array.from([2, 3, 4, 5]), [4]),
      c = [0, 0.5];
    const fig = viz.hist([a, b, c], {
      labels: { variable: "Query-side vector", value: "Attention scores" },
      title: "Attn scores (from END -> IO) in NNMH 10.7",
      names: ["W_U[IO]", "NMH 9.9 output", "W_U[S]"],
      width: 1000,
      height: 600,
      opacity: 0.6,
      marginal: "box",
      template: "simple_white",
      nbins: 120,
      return_fig: true,
      static: true,
    } as viz.HistOptions);
    // [hist 0, box 0, hist 1, box 1, ...] as plotly express orders them (the seed hides h.data[2i] and h.data[2i+1])
    expect(fig.data.map((d: Obj) => [d.type, d.name])).toEqual([
      ["histogram", "W_U[IO]"],
      ["box", "W_U[IO]"],
      ["histogram", "NMH 9.9 output"],
      ["box", "NMH 9.9 output"],
      ["histogram", "W_U[S]"],
      ["box", "W_U[S]"],
    ]);
    const h = fig.data[2] as Obj;
    expect(h).toMatchObject({ x: [2, 3, 4, 5], opacity: 0.6, nbinsx: 120, bingroup: "x", xaxis: "x", yaxis: "y" });
    expect(fig.data[3] as Obj).toMatchObject({
      xaxis: "x2",
      yaxis: "y2",
      showlegend: false,
      legendgroup: "NMH 9.9 output",
    });
    const L = fig.layout as Obj;
    expect(L).toMatchObject({ barmode: "overlay", bargap: 0, hovermode: "x unified", width: 1000, height: 600 });
    expect(L.xaxis.title.text).toBe("Attention scores");
    expect(L.legend.title.text).toBe("Query-side vector");
    expect(L.yaxis2.domain[0]).toBeGreaterThan(L.yaxis.domain[1]);
    expect(L.xaxis2.matches).toBe("x");
    expect(L.template.layout.plot_bgcolor).toBe("white");
    expect(fig.config).toEqual({ staticPlot: true });
    // the seed's loop: for i in [1, 2]: h.data[2*i].visible = h.data[2*i+1].visible = "legendonly"
    const hidden = viz.hist([a, b, c], { names: ["x", "y", "z"], marginal: "box", legendOnly: [1, "z"] });
    expect(hidden.data.map((d: Obj) => d.visible)).toEqual([
      undefined,
      undefined,
      "legendonly",
      "legendonly",
      "legendonly",
      "legendonly",
    ]);
    expect(() => viz.hist([a], { legendOnly: ["nope"] })).toThrow(/unknown series/);
  });

  it("one series, histnorm, no marginal", () => {
    const fig = viz.hist([1, 2, 2, 3], { histnorm: "probability" });
    expect(fig.data).toHaveLength(1);
    expect((fig.data[0] as Obj).histnorm).toBe("probability");
    expect((fig.layout as Obj).yaxis.title.text).toBe("probability");
    expect((fig.layout as Obj).xaxis2).toBeUndefined();
  });
});

describe("figures in notebooks", () => {
  it("carry a non-enumerable Deno display method returning HTML", () => {
    const fig = viz.line([1, 2]);
    expect(Object.keys(fig)).toEqual(["data", "layout"]);
    const bundle = (fig as unknown as Record<symbol, () => Obj>)[Symbol.for("Jupyter.display")]!();
    expect(bundle["text/html"]).toContain("tlens-figure");
  });

  it("display() sends HTML to a tslab-like sink (returning nothing to print) and gives _repr_html_", () => {
    const sent: string[] = [];
    const items = [viz.line([1, 2]), viz.coloredTokens({ tokens: ["a", "b"], values: [1, -1] })];
    expect(viz.display(items, { html: (s) => sent.push(s) }, { includePlotly: false })).toBeUndefined();
    expect(sent).toHaveLength(1);
    // the same HTML as without a sink (each call numbers its elements anew)
    const ids = (s: string): string => s.replace(/tlens-[a-z0-9]+-[a-z0-9]+-\d+/g, "ID");
    expect(ids(viz.display(items, undefined, { includePlotly: false })._repr_html_())).toBe(ids(sent[0]!));
    expect(sent[0]).toContain("tlensViz");
    expect(sent[0]).not.toContain("plotly.js v"); // includePlotly: false
    const withPlotly = viz.display(viz.line([1]), undefined, { includePlotly: true }).toHtml();
    expect(withPlotly.length).toBeGreaterThan(1_000_000);
  });
});
