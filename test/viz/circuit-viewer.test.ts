// The circuit viewer: its data from a scored graph (strongest edges first, the slider's start), and the page in
// headless Chromium: every node and edge drawn, hover shows the score, the slider hides weak edges, no console errors.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { applyTopN, Graph } from "../../src/analysis/attribution/index.js";
import {
  attributionScatter,
  circuitViewer,
  faithfulnessCurve,
  launchChromium,
  toHtml,
  VizError,
} from "../../src/viz/index.js";
import { VIEWER_JS } from "../../src/viz/viewer-runtime.js";

/** A 2-layer, 3-head graph, edge i scored (−1)^i · (i + 1) / 10. */
function scoredGraph(): Graph {
  const g = Graph.fromConfig({ nLayers: 2, nHeads: 3 });
  g.setScores(g.edges.map((_, i) => ((i % 2 ? -1 : 1) * (i + 1)) / 10));
  return g;
}

interface Props {
  edges: { name: string; score: number }[];
  threshold: number;
  maxAbs: number;
  nodes: unknown[];
}

describe("circuitViewer data", () => {
  it("sends the strongest edges first, up to maxEdges, and starts the slider at the circuit's weakest edge", () => {
    const g = scoredGraph();
    applyTopN(g, 20, { prune: false });
    const p = circuitViewer(g, { maxEdges: 50 }).props as unknown as Props;
    expect(g.edges.length).toBe(75);
    expect(p.edges.length).toBe(50);
    expect(p.edges[0]!.score).toBeCloseTo((g.edges.length / 10) * (g.edges.length % 2 ? 1 : -1), 9);
    expect(p.maxAbs).toBeCloseTo(g.edges.length / 10, 9);
    const abs = p.edges.map((e) => Math.abs(e.score));
    expect(abs).toEqual([...abs].sort((a, b) => b - a));
    expect(p.threshold).toBeCloseTo(abs[19]!, 9); // the 20 in the circuit are the 20 strongest
    expect(p.nodes.length).toBe(g.nodes.length);
    expect(VIEWER_JS).toContain('"circuit"');
  });

  it("refuses a graph without scores and a bad maxEdges", () => {
    expect(() => circuitViewer(Graph.fromConfig({ nLayers: 1, nHeads: 1 }))).toThrow(VizError);
    expect(() => circuitViewer(scoredGraph(), { maxEdges: 0 })).toThrow(/maxEdges must be a positive integer/);
  });
});

describe("circuit viewer in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("draws every node and edge, hover shows an edge's score, the slider hides the weak edges", async () => {
    const g = scoredGraph();
    const viewer = circuitViewer(g, { threshold: 5, title: "circuit" });
    const p = viewer.props as unknown as Props;
    const dir = mkdtempSync(join(tmpdir(), "tlens-circuit-"));
    const file = join(dir, "page.html");
    writeFileSync(file, toHtml(viewer));
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`file://${file}`);
    await page.waitForSelector("[data-viewer=circuit][data-rendered]");
    expect(await page.$$eval("[data-node]", (els) => els.length)).toBe(g.nodes.length);
    expect(await page.$$eval("[data-edge]", (els) => els.length)).toBe(g.edges.length);
    const root = page.locator(".tlv-circuit");
    const strongAtLeast = (t: number): number => p.edges.filter((e) => Math.abs(e.score) >= t).length;
    expect(await root.getAttribute("data-visible-edges")).toBe(String(strongAtLeast(5)));
    // hover: the tooltip names the edge and its score
    const edge = g.edges[10]!;
    await page.dispatchEvent(`[data-edge="${edge.name}"]`, "mouseover");
    expect(await root.getAttribute("data-hover-edge")).toBe(edge.name);
    expect(await page.textContent(".tlv-tip")).toBe(`${edge.name}: ${edge.score!.toFixed(3)}`);
    // the slider: lowering the threshold shows the edges down to it; the others stay hidden
    await page.locator("input[type=range]").fill("3");
    expect(await root.getAttribute("data-visible-edges")).toBe(String(strongAtLeast(3)));
    const hidden = await page.$$eval(
      "[data-edge]",
      (els) => els.filter((e) => (e as SVGElement).style.display === "none").length,
    );
    expect(hidden).toBe(g.edges.length - strongAtLeast(3));
    expect(await page.textContent(".tlv-threshold")).toContain(`${strongAtLeast(3)} of ${g.edges.length} edges`);
    expect(await page.$$eval(".tlv-circuit-only", (els) => els.length)).toBe(0); // nothing pruned: no toggle
    expect(errors).toEqual([]);
    await page.close();
  });

  it("with a pruned circuit, 'circuit only' shows just its edges above the threshold", async () => {
    const g = scoredGraph();
    const kept = applyTopN(g, 30);
    const inCircuit = new Set(g.edges.filter((e) => e.inGraph).map((e) => e.name));
    const file = join(mkdtempSync(join(tmpdir(), "tlens-circuit-")), "page.html");
    writeFileSync(file, toHtml(circuitViewer(g, { threshold: 0 })));
    const page = await browser.newPage();
    await page.goto(`file://${file}`);
    await page.waitForSelector("[data-viewer=circuit][data-rendered]");
    const root = page.locator(".tlv-circuit");
    expect(await root.getAttribute("data-visible-edges")).toBe(String(g.edges.length));
    await page.check(".tlv-circuit-only");
    expect(await root.getAttribute("data-visible-edges")).toBe(String(kept));
    const shown = await page.$$eval("[data-edge]", (els) =>
      els.filter((e) => (e as SVGElement).style.display !== "none").map((e) => e.getAttribute("data-edge")),
    );
    expect(new Set(shown)).toEqual(inCircuit);
    await page.close();
  });

  it("a report page with the viewer, the faithfulness curve and the scatter renders offline with no console errors", async () => {
    const items = [
      circuitViewer(scoredGraph()),
      faithfulnessCurve({
        sizes: [5, 20, 75],
        faithfulness: [0.3, 0.8, 1],
        random: [
          [0, 0.1, 1],
          [0.1, 0.3, 1],
        ],
      }),
      attributionScatter({ attribution: [0.1, 0.5, -0.2, 0.9], patching: [0.2, 0.4, -0.1, 1.1] }),
    ];
    const file = join(mkdtempSync(join(tmpdir(), "tlens-circuit-")), "report.html");
    writeFileSync(file, toHtml(items, { title: "circuit report" }));
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (r.url() !== `file://${file}`) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    await page.waitForFunction(
      () => Array.from(document.querySelectorAll("[data-tlens-item]")).every((e) => e.hasAttribute("data-rendered")),
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.$$eval(".tlens-figure .main-svg", (els) => els.length)).toBeGreaterThanOrEqual(2);
    expect(await page.$$eval("[data-viewer=circuit] [data-edge]", (els) => els.length)).toBe(75);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
