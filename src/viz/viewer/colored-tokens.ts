// The coloured-tokens viewer: each token's background by its value (blue positive, red negative), the value on hover.
import { colour, el, fmt, showTok, textColour } from "./draw.js";
import type { ColoredTokensProps } from "./props.js";

export function renderColoredTokens(root: HTMLElement, p: ColoredTokensProps): void {
  const lo = p.minValue;
  const hi = p.maxValue;
  const wrap = el("div", "tlv-tokens");
  p.tokens.forEach((token, k) => {
    const v = p.values[k]!;
    const s = el("span", "tlv-tok", showTok(token));
    s.setAttribute("data-token", String(k));
    s.style.background = colour(v, lo, hi);
    s.style.color = v === null ? "#111" : textColour(v, lo, hi);
    s.title = showTok(token) + " (" + k + "): " + fmt(v);
    wrap.appendChild(s);
  });
  root.appendChild(wrap);
  root.appendChild(
    el("div", "tlv-legend", "range " + fmt(lo) + " \u2026 " + fmt(hi) + " (red negative, blue positive)"),
  );
}
