// viz.saeDashboard on hand-made data: the items it draws, escaped token text, the highlight of each token.
import { describe, expect, it } from "vitest";
import { isFigure, isHtmlBlock } from "../../src/viz/types.js";
import { saeDashboard, saeDashboardHtml } from "../../src/viz/sae-dashboard.js";
import type { SaeDashboardData } from "../../src/sae/features/dashboard-data.js";

const example = {
  row: 0,
  pos: 2,
  activation: 2,
  start: 0,
  tokens: [1, 2, 3],
  acts: [0, 1, 2],
  text: ["a", "<b>", " c"],
};
const data: SaeDashboardData = {
  model: "m",
  hookName: "blocks.0.hook_resid_pre",
  dSae: 4,
  architecture: "topk",
  rows: 1,
  ctx: 3,
  log10Density: [-0.5, null, -1, -0.2],
  densityHistogram: { edges: [-1, -0.5, 0], counts: [1, 2] },
  dead: 1,
  features: [
    {
      feature: 3,
      density: 0.6,
      maxActivation: 2,
      top: [example],
      quantiles: [
        { lo: 1, hi: 2, count: 1, fraction: 0.5, examples: [example] },
        { lo: 0, hi: 1, count: 1, fraction: 0.5, examples: [] },
      ],
      activationHistogram: { edges: [0, 1, 2], counts: [1, 1] },
      logits: { top: [{ token: 5, text: " up", effect: 0.7 }], bottom: [{ token: 6, text: " down", effect: -0.4 }] },
    },
  ],
};

describe("saeDashboard", () => {
  it("draws the density and activation histograms as bars at bin centres, and the examples highlighted", () => {
    const items = saeDashboard(data);
    const figures = items.filter(isFigure);
    expect(figures.length).toBe(2);
    expect(figures[0]!.data[0]!.x).toEqual([-0.75, -0.25]);
    expect(figures[0]!.data[0]!.y).toEqual([1, 2]);
    expect(figures[1]!.data[0]!.x).toEqual([0.5, 1.5]);
    const page = items
      .filter(isHtmlBlock)
      .map((b) => b.tlensHtml)
      .join("\n");
    expect(page).toContain("&lt;b&gt;");
    expect(page).not.toContain("<b></span>");
    expect(page).toMatch(/background: rgba\(255,140,0,0\.500\)" title="&quot;&lt;b&gt;&quot;: 1\.000">&lt;b&gt;</);
    expect(page).toContain('class="sae-tok sae-focus" style="background: rgba(255,140,0,1.000)"');
    expect(page).toContain("(no examples)");
    expect(page).toContain("&quot; up&quot;");
    expect(page).toContain('href="#feature-3"');
    expect(page).toMatch(/1 features never fire/);
    const html = saeDashboardHtml(data);
    expect(html).toContain("<title>SAE features: m blocks.0.hook_resid_pre</title>");
    expect(html).toContain(".sae-tok");
  });
});
