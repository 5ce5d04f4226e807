// Self-contained HTML, the viewers' interaction in headless Chromium, and PNG export.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { Tensor, viz } from "../../src/index.js";

const tokens = ["When", " Mary", " and", " John", " went", " to"];
const n = tokens.length;
/** Causal pattern [head, q, k]: head h puts weight on key (q - h) (clamped at 0). */
const pattern = (H: number): number[][][] =>
  Array.from({ length: H }, (_, h) =>
    Array.from({ length: n }, (_, q) =>
      Array.from({ length: n }, (_, k) => (k === Math.max(0, q - h) ? 0.7 : 0) + (k <= q ? 0.3 / (q + 1) : 0)),
    ),
  );

const figures = (): viz.Item[] => [
  viz.heading("Figures"),
  viz.text("A paragraph with `code` and **bold**; <script>alert(1)</script> stays text."),
  viz.imshow(
    [
      [1, -1],
      [0.5, 0],
    ],
    { labels: { x: "Head", y: "Layer" }, title: "heads" },
  ),
  viz.imshow(
    [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [-1, -2],
        [-3, -4],
      ],
    ],
    { facetCol: 0, facetLabels: ["a", "b"] },
  ),
  viz.imshow(
    [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [-1, -2],
        [-3, -4],
      ],
    ],
    { animationFrame: 0 },
  ),
  viz.line([1, 3, 2], { hoverName: ["a", "b", "c"] }),
  viz.scatter([1, 2, 3], [3, 1, 2], { color: ["IO", "S", "IO"] }),
  viz.bar([1, 2], { x: ["x", "y"], errorY: [0.1, 0.2] }),
  viz.hist(
    [
      [1, 2, 2, 3],
      [2, 3, 3, 4],
    ],
    { names: ["p", "q"], marginal: "box", legendOnly: [1] },
  ),
  viz.table([["a", 1.23456]], { columns: ["name", "value"] }),
];
const viewers = (): viz.Item[] => [
  viz.attentionHeads({ tokens, attention: pattern(3), headNames: ["L0H0", "L0H1", "L0H2"], title: "heads viewer" }),
  viz.attentionPatterns({
    tokens,
    attention: Tensor.fromTypedArray(Float32Array.from(pattern(2).flat(2)), [1, 2, n, n]),
  }),
  viz.coloredTokens({ tokens, values: [0.5, -1, 0, 2, 1, -0.5] }),
  viz.topkTokens({ tokens: [tokens], activations: [[Array.from({ length: n }, (_, p) => [p, -p, p % 2])]], k: 2 }),
];

describe("toHtml", () => {
  it("is one self-contained page: plotly and the viewer script inlined, nothing external", () => {
    const page = viz.toHtml([...figures(), ...viewers()], { title: "A <report>" });
    expect(page.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(page).toContain("<title>A &lt;report&gt;</title>");
    expect(page).toContain("plotly.js v"); // the bundle's header
    expect(page).toContain(viz.plotlyJs().slice(2000, 2200));
    expect(page).toContain("window.tlensViz");
    // no src= or href= to any host, no CDN (outside the inlined scripts, whose strings hold plotly's own links)
    const markup = page.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, "<script></script>");
    expect(markup.length).toBeLessThan(100_000);
    expect(markup.match(/\s(src|href)\s*=\s*["']?(https?:)?\/\//gi)).toBeNull();
    expect(page).not.toMatch(/<script[^>]+src=/i);
    expect(page).not.toMatch(/<link[^>]+href=/i);
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt; stays text");
    // a page without figures does not carry plotly
    const small = viz.toHtml([viz.coloredTokens({ tokens: ["a"], values: [1] })]);
    expect(small.length).toBeLessThan(100_000);
    expect(small).not.toContain("plotly.js v");
  });

  it("keeps </script> inside data from closing the element", () => {
    const page = viz.toHtml([viz.line([1, 2], { title: "</script><b>x</b>" })]);
    const json = page.slice(page.indexOf('type="application/json"'));
    expect(json.slice(0, json.indexOf("</script>"))).toContain("\\u003c/script>");
  });

  it("rejects what it cannot draw", () => {
    expect(() => viz.toHtml([{ nope: 1 } as unknown as viz.Item])).toThrow(/figures/);
  });
});

describe("viewers as data", () => {
  it("check shapes and names", () => {
    expect(() => viz.attentionHeads({ tokens: ["a"], attention: pattern(2) })).toThrow(
      /1 tokens but attention is \[2, 6, 6\]/,
    );
    expect(() => viz.attentionHeads({ tokens, attention: pattern(2), headNames: ["x"] })).toThrow(
      /1 headNames for 2 heads/,
    );
    const one = viz.attentionPattern({ tokens, attention: pattern(1)[0]!, headName: "L1H2" });
    expect(one.props.headNames).toEqual(["L1H2"]);
    expect(JSON.parse(JSON.stringify(one))).toEqual(one);
  });

  it("value-weighted attention = pattern × ‖v‖ at the source", () => {
    const p = Tensor.fromTypedArray(Float32Array.from(pattern(2).flat(2)), [2, n, n]);
    const v = Tensor.fromTypedArray(
      Float32Array.from({ length: n * 2 * 3 }, (_, i) => (i % 5) - 2),
      [n, 2, 3],
    );
    const w = viz.valueWeightedAttention(p, v);
    const vd = v.dataSync();
    const norm = (k: number, h: number): number =>
      Math.hypot(vd[(k * 2 + h) * 3]!, vd[(k * 2 + h) * 3 + 1]!, vd[(k * 2 + h) * 3 + 2]!);
    expect(w.get(1, 4, 2).item()).toBeCloseTo(p.get(1, 4, 2).item() * norm(2, 1), 5);
    const viewer = viz.valueWeightedPatterns({ tokens, attention: p, v });
    expect(viewer.props.valueWeighted).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------------ in Chromium
// locally without Chromium these are skipped; in CI (.ci/run installs it) they always run
describe("in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await viz.launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(html: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), "tlens-viz-"));
    const file = join(dir, "page.html");
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    await page.waitForFunction(
      () => Array.from(document.querySelectorAll("[data-tlens-item]")).every((e) => e.hasAttribute("data-rendered")),
      undefined,
      { timeout: 30_000 },
    );
    return { page, errors, requests: requests.filter((u) => u !== `file://${file}`) };
  }

  it("draws every figure and viewer offline, with no console errors and no requests", async () => {
    const { page, errors, requests } = await open(viz.toHtml([...figures(), ...viewers()], { title: "all" }));
    const states = await page.$$eval("[data-tlens-item]", (els) => els.map((e) => e.getAttribute("data-rendered")));
    expect(states).toEqual(Array(states.length).fill("1"));
    expect(states.length).toBe(11);
    expect(await page.$$eval(".tlens-figure .main-svg", (els) => els.length)).toBeGreaterThanOrEqual(8);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it("attention viewer: hovering a head focuses it, hovering a token colours what it attends to", async () => {
    const { page, errors } = await open(viz.toHtml(viewers()[0]!));
    const root = page.locator("[data-focused-head]");
    expect(await root.getAttribute("data-focused-head")).toBe("0");
    await page.hover('.tlv-thumb[data-head="2"]');
    expect(await root.getAttribute("data-focused-head")).toBe("2");
    expect(await page.textContent(".tlv-head-title")).toContain("L0H2");
    // click locks head 2; hovering another head no longer moves the focus
    await page.click('.tlv-thumb[data-head="2"]');
    await page.hover('.tlv-thumb[data-head="0"]');
    expect(await root.getAttribute("data-focused-head")).toBe("2");
    // hover token 4 (" went"): head 2 puts 0.7 on key 2 (" and")
    await page.hover('.tlv-tok[data-token="4"]');
    const alpha = async (k: number): Promise<number> => {
      const bg = await page.$eval(`.tlv-tok[data-token="${k}"]`, (e) => (e as HTMLElement).style.background);
      const m = /rgba\([^)]*,\s*([\d.]+)\)/.exec(bg);
      return m ? Number(m[1]) : 0;
    };
    const expected = pattern(3)[2]![4]!;
    expect(await alpha(2)).toBeCloseTo(expected[2]!, 2);
    expect(await alpha(0)).toBeCloseTo(expected[0]!, 2);
    expect(await alpha(5)).toBe(0); // the future: no attention
    // the other direction: what attends to token 2
    await page.selectOption(".tlv-ctrl select", "src");
    await page.hover('.tlv-tok[data-token="2"]');
    expect(await alpha(4)).toBeCloseTo(pattern(3)[2]![4]![2]!, 2);
    expect(await alpha(1)).toBe(0);
    // hovering a cell of the large pattern shows its value
    const box = (await page.locator(".tlv-big canvas").boundingBox())!;
    await page.mouse.move(box.x + box.width - 8, box.y + box.height - 8);
    expect(await page.textContent(".tlv-tip")).toContain(" to (5)");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("savePng writes a real, non-blank PNG of a figure and of a viewer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-png-"));
    const fig = viz.imshow(
      [
        [1, -1, 0.5],
        [0, 2, -2],
      ],
      { title: "png", width: 500, height: 350 },
    );
    await viz.savePng(fig, join(dir, "fig.png"));
    const png = readFileSync(join(dir, "fig.png"));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBe(500); // IHDR width
    expect(png.readUInt32BE(20)).toBe(350);
    expect(statSync(join(dir, "fig.png")).size).toBeGreaterThan(5000); // a blank 500×350 PNG compresses to ~2 kB
    await viz.savePng(viewers()[0] as viz.Viewer, join(dir, "viewer.png"));
    const vp = readFileSync(join(dir, "viewer.png"));
    expect(vp.subarray(1, 4).toString()).toBe("PNG");
    expect(vp.length).toBeGreaterThan(5000);
  });
});

describe("savePng without Chromium", () => {
  it("says what to install", async () => {
    await expect(viz.savePng(viz.line([1]), "/tmp/x.png", { chromiumPath: "/nonexistent/chromium" })).rejects.toThrow(
      /apt-get install chromium.*TLENS_CHROMIUM/,
    );
  });
});
