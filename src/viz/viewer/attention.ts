// The attention viewer (CircuitsVis's attention heads / patterns): a strip of head thumbnails (hover to focus, click
// to lock), the focused head's pattern with token labels (hover a cell for its value), and the tokens, coloured by
// what the hovered token attends to (or by what attends to it).
import { colour, drawGrid, el, fmt, showTok, sizeCanvas, textColour, valueRange } from "./draw.js";
import type { AttentionProps } from "./props.js";

type Direction = "dest" | "src";

class AttentionView {
  private readonly n: number;
  private readonly lo: number;
  private readonly hi: number;
  private focus = 0;
  private locked: number | null = null;
  private last = 0;
  private tok: number | null = null;
  private tokLocked: number | null = null;
  private dir: Direction = "dest";
  private hoverCell: [number, number] | null = null;
  private readonly thumbs: HTMLElement[] = [];
  private readonly toks: HTMLElement[] = [];
  private readonly title = el("h4", "tlv-head-title");
  private readonly canvas = el("canvas");
  private readonly tip = el("div", "tlv-tip");
  /** Width of the token labels beside the big pattern, and the pattern's size (CSS pixels). */
  private readonly lab: number;
  private readonly bsize: number;

  constructor(
    private readonly root: HTMLElement,
    private readonly p: AttentionProps,
    bigMode: boolean,
  ) {
    this.n = p.tokens.length;
    const [rlo, rhi] = valueRange(p.attention);
    this.lo = p.minValue !== undefined && p.minValue !== null ? p.minValue : rlo;
    this.hi =
      p.maxValue !== undefined && p.maxValue !== null ? p.maxValue : rhi <= 1 && rlo >= 0 && !p.valueWeighted ? 1 : rhi;
    let label = 0;
    for (const t of p.tokens) label = Math.max(label, showTok(t).length);
    this.lab = Math.min(110, 8 + label * 6.5);
    this.bsize = bigMode ? Math.max(200, Math.min(520, this.n * 26)) : Math.max(160, Math.min(300, this.n * 16));
    root.setAttribute("data-focused-head", "0");
    const main = el("div", "tlv-main");
    main.appendChild(this.bigPattern());
    main.appendChild(this.tokenPanel());
    root.appendChild(this.headStrip());
    root.appendChild(main);
    this.setFocus(0);
  }

  /** The head thumbnails. */
  private headStrip(): HTMLElement {
    const heads = el("div", "tlv-heads");
    const H = this.p.attention.length;
    const tsize = Math.max(48, Math.min(100, 900 / Math.max(H, 1) - 12));
    for (let h = 0; h < H; h++) {
      const t = el("div", "tlv-thumb");
      t.setAttribute("data-head", String(h));
      const c = el("canvas");
      drawGrid(c, this.p.attention[h]!, tsize, this.lo, this.hi);
      t.appendChild(c);
      t.appendChild(el("div", "", this.p.headNames[h]));
      t.addEventListener("mouseenter", () => {
        if (this.locked === null) this.setFocus(h);
      });
      t.addEventListener("mouseleave", () => {
        if (this.locked === null) this.setFocus(0 <= this.last ? this.last : 0);
      });
      t.addEventListener("click", () => {
        this.locked = this.locked === h ? null : h;
        this.last = h;
        this.setFocus(h);
      });
      this.thumbs.push(t);
      heads.appendChild(t);
    }
    return heads;
  }

  /** The focused head's pattern, with its title and the hover tip. */
  private bigPattern(): HTMLElement {
    const big = el("div", "tlv-big");
    this.title.textContent = this.p.headNames[0]!;
    big.appendChild(this.title);
    big.appendChild(this.canvas);
    big.appendChild(this.tip);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => {
      this.hoverCell = null;
      this.tip.style.display = "none";
      this.paintBig();
    });
    return big;
  }

  /** The direction control, the tokens and the legend. */
  private tokenPanel(): HTMLElement {
    const ctrl = el("div", "tlv-ctrl");
    const sel = el("select");
    for (const [value, text] of [
      ["dest", "Destination \u2192 Source (what the hovered token attends to)"],
      ["src", "Source \u2190 Destination (what attends to the hovered token)"],
    ]) {
      const op = el("option", "", text);
      op.value = value!;
      sel.appendChild(op);
    }
    sel.addEventListener("change", () => {
      this.dir = sel.value as Direction;
      this.paintTokens();
    });
    ctrl.appendChild(document.createTextNode("Tokens: "));
    ctrl.appendChild(sel);
    const tokWrap = el("div", "tlv-tokens");
    this.p.tokens.forEach((token, k) => {
      const s = el("span", "tlv-tok", showTok(token));
      s.setAttribute("data-token", String(k));
      const repaint = (): void => {
        this.paintTokens();
        this.paintBig();
      };
      s.addEventListener("mouseenter", () => {
        if (this.tokLocked === null) {
          this.tok = k;
          repaint();
        }
      });
      s.addEventListener("mouseleave", () => {
        if (this.tokLocked === null) {
          this.tok = null;
          repaint();
        }
      });
      s.addEventListener("click", () => {
        this.tokLocked = this.tokLocked === k ? null : k;
        this.tok = this.tokLocked;
        repaint();
      });
      this.toks.push(s);
      tokWrap.appendChild(s);
    });
    const legend = el(
      "div",
      "tlv-legend",
      "colour: attention " +
        (this.p.valueWeighted ? "\u00d7 \u2016value\u2016 " : "") +
        "(max " +
        fmt(this.hi) +
        (this.lo < 0 ? ", min " + fmt(this.lo) : "") +
        "); hover or click a head, hover or click a token",
    );
    const right = el("div");
    right.appendChild(ctrl);
    right.appendChild(tokWrap);
    right.appendChild(legend);
    return right;
  }

  private hover(e: MouseEvent): void {
    const { n, lab } = this;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left - lab;
    const y = e.clientY - rect.top - lab;
    const cell = this.bsize / Math.max(n, 1);
    const i = Math.floor(y / cell);
    const j = Math.floor(x / cell);
    if (x < 0 || y < 0 || i >= n || j >= n) {
      this.hoverCell = null;
      this.tip.style.display = "none";
      this.paintBig();
      return;
    }
    this.hoverCell = [i, j];
    const t = this.p.tokens;
    this.tip.textContent =
      this.p.headNames[this.focus] +
      "\n" +
      showTok(t[i]) +
      " (" +
      i +
      ") \u2192 " +
      showTok(t[j]) +
      " (" +
      j +
      ")\n" +
      fmt(this.p.attention[this.focus]![i]![j]);
    this.tip.style.display = "block";
    this.tip.style.left = e.clientX - rect.left + 12 + "px";
    this.tip.style.top = e.clientY - rect.top + 32 + "px";
    this.paintBig();
  }

  private paintBig(): void {
    const { n, lab, bsize } = this;
    const grid = this.p.attention[this.focus]!;
    const ctx = sizeCanvas(this.canvas, lab + bsize + 4, lab + bsize + 4);
    const cell = bsize / Math.max(n, 1);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        ctx.fillStyle = colour(grid[i]![j], this.lo, this.hi);
        ctx.fillRect(lab + j * cell, lab + i * cell, Math.ceil(cell), Math.ceil(cell));
      }
    ctx.strokeStyle = "#ccc";
    ctx.strokeRect(lab + 0.5, lab + 0.5, bsize, bsize);
    if (cell >= 6) this.paintLabels(ctx, cell);
    const hc = this.hoverCell;
    const row = hc ? hc[0] : this.tok !== null && this.dir === "dest" ? this.tok : null;
    const col = hc ? hc[1] : this.tok !== null && this.dir === "src" ? this.tok : null;
    ctx.strokeStyle = "rgba(0,0,0,.7)";
    if (row !== null) ctx.strokeRect(lab + 0.5, lab + row * cell + 0.5, bsize - 1, cell - 1);
    if (col !== null) ctx.strokeRect(lab + col * cell + 0.5, lab + 0.5, cell - 1, bsize - 1);
  }

  /** Token labels left of the rows and (rotated) above the columns. */
  private paintLabels(ctx: CanvasRenderingContext2D, cell: number): void {
    const { lab } = this;
    ctx.font = Math.max(7, Math.min(12, cell * 0.8)) + "px system-ui, sans-serif";
    ctx.fillStyle = "#333";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    this.p.tokens.forEach((t, a) => ctx.fillText(showTok(t).slice(0, 16), lab - 4, lab + (a + 0.5) * cell));
    this.p.tokens.forEach((t, b) => {
      ctx.save();
      ctx.translate(lab + (b + 0.5) * cell, lab - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      ctx.fillText(showTok(t).slice(0, 16), 0, 0);
      ctx.restore();
    });
  }

  private paintTokens(): void {
    const grid = this.p.attention[this.focus]!;
    const tok = this.tok;
    this.toks.forEach((s, k) => {
      const val = tok === null ? null : this.dir === "dest" ? grid[tok]![k]! : grid[k]![tok]!;
      s.style.background = val === null ? "transparent" : colour(val, this.lo, this.hi);
      s.style.color = val === null ? "#111" : textColour(val, this.lo, this.hi);
      s.title = val === null ? "" : this.p.headNames[this.focus] + ": " + fmt(val);
      s.classList.toggle("tlv-src", tok === k);
    });
  }

  private setFocus(h: number): void {
    this.focus = h;
    this.root.setAttribute("data-focused-head", String(h));
    this.thumbs.forEach((t, i) => {
      t.classList.toggle("tlv-focus", i === h);
      t.classList.toggle("tlv-locked", i === this.locked);
    });
    this.title.textContent = this.p.headNames[h] + (this.locked === h ? " (locked: click again to unlock)" : "");
    this.paintBig();
    this.paintTokens();
  }
}

/** Draws an attention viewer into root; bigMode (attention-heads) gives the focused pattern more room. */
export function renderAttention(root: HTMLElement, props: AttentionProps, bigMode: boolean): void {
  new AttentionView(root, props, bigMode);
}
