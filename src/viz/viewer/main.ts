// The browser side of tlens's viewers: plain DOM + canvas, no dependencies. scripts/build-viewer.mjs bundles this
// entry (esbuild, an IIFE for ES2017) into the script every page showing a viewer inlines (viewer-runtime.ts's
// VIEWER_JS); `window.tlensViz.render(element, viewer)` draws one. Interaction mirrors CircuitsVis: hover a head to
// focus it (click to lock), hover a token to see what it attends to (or what attends to it), hover a cell of the
// large pattern for its value.
import { VizError } from "../../errors.js";
import { renderAttention } from "./attention.js";
import { renderCircuit } from "./circuit.js";
import { renderColoredTokens } from "./colored-tokens.js";
import { el } from "./draw.js";
import type { ViewerData } from "./props.js";
import { renderTopk } from "./topk.js";

export interface TlensViz {
  render(root: HTMLElement, viewer: ViewerData): void;
}

declare global {
  interface Window {
    tlensViz?: TlensViz;
  }
}

function renderBody(body: HTMLElement, v: ViewerData): void {
  switch (v.tlensViewer) {
    case "attention-heads":
      return renderAttention(body, v.props, true);
    case "attention-patterns":
      return renderAttention(body, v.props, false);
    case "colored-tokens":
      return renderColoredTokens(body, v.props);
    case "topk-tokens":
      return renderTopk(body, v.props);
    case "circuit":
      return renderCircuit(body, v.props);
    default:
      throw new VizError("tlens: unknown viewer " + (v as { tlensViewer: string }).tlensViewer);
  }
}

if (!window.tlensViz) {
  window.tlensViz = {
    render(root, viewer) {
      root.classList.add("tlv");
      root.setAttribute("data-viewer", viewer.tlensViewer);
      if (viewer.title) root.appendChild(el("h4", "", viewer.title));
      const body = el("div");
      root.appendChild(body);
      renderBody(body, viewer);
      root.setAttribute("data-rendered", "1");
    },
  };
}
