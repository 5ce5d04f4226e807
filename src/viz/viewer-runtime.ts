// What every page showing a viewer inlines: the viewers' CSS, and their script — the typed browser modules of
// src/viz/viewer/ (main.ts: \`window.tlensViz.render(element, viewer)\`) bundled at build time by
// scripts/build-viewer.mjs into viewer/bundle.js.
import { VIEWER_BUNDLE } from "./viewer/bundle.js";

export const VIEWER_CSS = `
.tlv { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 8px 0 16px; }
.tlv h4 { margin: 4px 0 8px; font-size: 15px; }
.tlv-heads { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.tlv-thumb { border: 2px solid #ddd; border-radius: 4px; padding: 2px; cursor: pointer; text-align: center; font-size: 11px; background: #fff; }
.tlv-thumb.tlv-focus { border-color: #2c6fbb; }
.tlv-thumb.tlv-locked { border-color: #d2412f; }
.tlv-thumb canvas { display: block; }
.tlv-main { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.tlv-big { position: relative; }
.tlv-big canvas { display: block; }
.tlv-tip { position: absolute; pointer-events: none; background: rgba(30,30,30,.9); color: #fff; padding: 3px 6px; border-radius: 3px; font-size: 12px; white-space: pre; display: none; z-index: 2; }
.tlv-tokens { max-width: 760px; line-height: 1.9; }
.tlv-tok { white-space: pre; border: 1px solid #eee; border-radius: 3px; padding: 1px 1px; margin: 0 1px; cursor: default; display: inline-block; line-height: 1.3; }
.tlv-tok.tlv-src { outline: 2px solid #222; }
.tlv-ctrl { margin: 0 0 6px; font-size: 12px; color: #444; }
.tlv-ctrl select, .tlv-ctrl input { font-size: 12px; }
.tlv-legend { font-size: 11px; color: #666; margin-top: 4px; }
.tlv table { border-collapse: collapse; font-size: 12px; }
.tlv td, .tlv th { border: 1px solid #e3e3e3; padding: 2px 5px; vertical-align: top; }
.tlv th { background: #f6f6f6; }
.tlv .tlv-ctx { color: #999; }
`;

/** The viewer script (an IIFE defining window.tlensViz), ES2017, no dependencies. */
export const VIEWER_JS: string = VIEWER_BUNDLE;
