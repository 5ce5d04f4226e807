// The lab's single page: the panels and their data-testid hooks. Behaviour is in app/main.ts; plotly.js and the
// viewer runtime come from the server's /vendor routes (nothing is fetched from elsewhere).
import { escapeHtml } from "../viz/html.js";
import { VIEWER_CSS } from "../viz/viewer-runtime.js";

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0 auto; max-width: 1280px; padding: 12px 24px 64px; }
h1 { font-size: 22px; margin: 6px 0 2px; } h2 { font-size: 18px; margin: 26px 0 6px; border-bottom: 1px solid #e5e5e5; padding-bottom: 3px; }
#model-info { color: #555; }
textarea { width: 100%; box-sizing: border-box; font: 14px/1.4 ui-monospace, monospace; }
input[type=text] { font: 13px ui-monospace, monospace; width: 30em; max-width: 100%; }
button { font-size: 13px; padding: 3px 12px; }
.row { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 6px 0; }
.row label { display: inline-flex; gap: 6px; align-items: center; }
[data-testid=error] { color: #b00020; background: #fdecee; border: 1px solid #f5c2c8; padding: 6px 10px; border-radius: 4px; white-space: pre-wrap; margin: 8px 0; }
[data-testid=error]:empty { display: none; }
#tokens { line-height: 2.2; }
[data-testid=token] { display: inline-block; border: 1px solid #d8d8d8; border-radius: 3px; padding: 0 3px; margin: 0 2px; white-space: pre; font-family: ui-monospace, monospace; line-height: 1.3; text-align: center; }
[data-testid=token] sub { display: block; color: #888; font-size: 10px; }
table.preds { border-collapse: collapse; font-size: 13px; } table.preds td, table.preds th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
table.preds tbody tr { cursor: pointer; } table.preds tbody tr:hover { background: #eef4fb; }
.tok { white-space: pre; font-family: ui-monospace, monospace; }
.figure { width: 100%; min-height: 60px; }
progress { width: 320px; }
#ioi-list { font-size: 13px; } #ioi-list li { margin: 2px 0; } #ioi-list button { margin-left: 8px; padding: 0 8px; }
.muted { color: #666; font-size: 13px; }
#sae-tokens { line-height: 2.2; margin: 6px 0; } .sae-tok { display: inline-block; white-space: pre; font-family: ui-monospace, monospace; border: 1px solid #e2e2e2; border-radius: 3px; padding: 0 3px; margin: 0 1px; }
#sae-top button { margin: 2px 4px 2px 0; padding: 0 8px; font-size: 12px; } #sae-top button.on { font-weight: bold; border-color: #e67e00; }
table.sae-logits { border-collapse: collapse; font-size: 13px; } table.sae-logits td, table.sae-logits th { border: 1px solid #ddd; padding: 2px 8px; }
`;

/** The queue-sweep panel (app/sweep-panel.ts shows it when the lab has a queue: `tlens lab --queue`). */
const QUEUE_PANEL = `<section id="queue-panel" data-testid="queue-panel" hidden>
<h2>Queue sweep</h2>
<p class="muted">IOI prompt pairs against their ABC-flipped versions, swept over the grids below and sharded into jobs on the queue
<span id="queue-name"></span>: <code>tlens worker</code> processes run them, this page shows the merged mean over every pair.</p>
<div class="row">
  <label>grids <input type="text" id="queue-kinds" value="resid_pre, head_out"></label>
  <label>pairs <input type="number" id="queue-pairs" value="64" min="1" style="width:6em"></label>
  <label>seed <input type="number" id="queue-seed" value="1" min="0" style="width:6em"></label>
  <label>pairs per shard <input type="number" id="queue-per-shard" value="8" min="1" style="width:5em"></label>
  <button id="queue-run">Send to queue</button>
  <button id="queue-cancel" disabled>Cancel</button>
  <progress data-testid="queue-progress" id="queue-progress" value="0" max="1"></progress>
  <span id="queue-status" class="muted"></span>
</div>
<div data-testid="queue-result" id="queue-result"></div>
</section>
`;

/** The SAE panel (app/sae-panel.ts shows it when the lab has an SAE: `tlens lab --sae DIR`). */
const SAE_PANEL = `<section id="sae-panel" data-testid="sae-panel" hidden>
<h2>SAE features</h2>
<p class="muted">The SAE at <code id="sae-hook"></code> on the prompt above (computed on the server): pick a feature, or click one of
those that fire most on the prompt, to see its activation at every token and the tokens its decoder direction pushes up and down
(W_dec[f] · W_U).</p>
<div class="row">
  <label>feature <input type="number" id="sae-feature" min="0" style="width:7em" placeholder="most active"></label>
  <button id="sae-run">Show</button>
  <span id="sae-status" class="muted"></span>
</div>
<div data-testid="sae-top-features" id="sae-top"></div>
<div data-testid="sae-tokens" id="sae-tokens"></div>
<div data-testid="sae-logits" id="sae-logits"></div>
</section>
`;

/** The attribution panel: it reads the patching panel's prompt pair and metric. */
const ATTRIBUTION_PANEL = `<h2>Attribution patching</h2>
<p class="muted">The same prompt pair and metric as the sweep above, estimated for every patch at once from one clean forward and one
corrupted forward + backward (AtP: Σ (clean − corrupted activation) · gradient at the corrupted run), in the same units.
Optionally the circuit: every edge between heads, MLPs, the input and the logits scored by EAP or EAP-IG.</p>
<div class="row">
  <label>circuit <select id="attr-circuit">
    <option value="none">none</option>
    <option value="eap">EAP</option>
    <option value="eap-ig" selected>EAP-IG (5 steps)</option>
  </select></label>
  <label>top edges <input type="number" id="attr-top" value="50" min="1" style="width:6em"></label>
  <button id="attr-run">Estimate</button>
  <span id="attr-status" class="muted"></span>
</div>
<div data-testid="attribution-resid" id="attr-resid" class="figure"></div>
<div data-testid="attribution-heads" id="attr-heads" class="figure"></div>
<div data-testid="attribution-circuit" id="attr-circuit-view"></div>`;

/** The page as served at `/`. */
export function labPage(modelName: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tlens lab: ${escapeHtml(modelName)}</title>
<link rel="icon" href="data:,">
<style>${CSS}${VIEWER_CSS}</style>
<script src="/vendor/plotly.min.js"></script>
<script src="/vendor/tlens-viewer.js"></script>
<script type="module" src="/app/main.js"></script>
</head>
<body>
<h1>tlens lab</h1>
<div id="model-info">loading…</div>
<div class="row">
  <label title="Load the model into this page (a Web Worker) and compute there instead of on the server"><input type="checkbox" data-testid="run-in-browser" id="run-in-browser" disabled> run in browser</label>
  <span>computing on: <b data-testid="compute-mode" id="compute-mode">server</b></span>
  <progress data-testid="browser-loading" id="browser-loading" value="0" max="1" hidden></progress>
  <span id="browser-note" class="muted"></span>
</div>
<div data-testid="error" role="alert"></div>

<h2>Prompt</h2>
<textarea data-testid="prompt-input" id="prompt" rows="3">When Mary and John went to the store, John gave a drink to</textarea>
<div class="row"><button data-testid="run-button" id="run">Run</button><span class="muted">Ctrl+Enter runs. Click a prediction to use it below.</span></div>
<div id="tokens"></div>
<div id="predictions"></div>

<h2>Attention</h2>
<div class="row">
  <label>layer <select id="att-layer"></select></label>
  <label>head <select id="att-head"><option value="">every head</option></select></label>
</div>
<div data-testid="attention-pattern" id="attention"></div>

<h2>Logit lens</h2>
<div class="row">
  <label>token <input type="text" id="lens-token" placeholder='a single token, e.g. " Mary" (default: the top prediction)'></label>
  <button id="lens-run">Show</button>
</div>
<div data-testid="logit-lens" id="lens" class="figure"></div>

<h2>Direct logit attribution per head</h2>
<div class="row">
  <label>answer <input type="text" id="dla-answer" placeholder="default: the top prediction"></label>
  <label>minus <input type="text" id="dla-other" placeholder="optional: a second token"></label>
  <button id="dla-run">Show</button>
</div>
<div data-testid="dla-heads" id="dla" class="figure"></div>
${SAE_PANEL}
<h2>Activation patching</h2>
<p class="muted">Clean activations are patched into the corrupted run one at a time; each cell is the fraction of the metric
(logit[answer] − logit[other] at the last position) restored: 1 = as clean, 0 = as corrupted.</p>
<div class="row"><label>clean <input type="text" id="patch-clean" value="When Mary and John went to the store, John gave a drink to"></label></div>
<div class="row"><label>corrupted <input type="text" id="patch-corrupted" value="When Mary and John went to the store, Mary gave a drink to"></label></div>
<div class="row">
  <label>answer <input type="text" id="patch-answer" value=" Mary"></label>
  <label>other <input type="text" id="patch-other" value=" John"></label>
</div>
<div class="row">
  <label>sweep <select id="patch-kind">
    <option value="resid_pre">resid_pre by position</option>
    <option value="attn_out">attn_out by position</option>
    <option value="mlp_out">mlp_out by position</option>
    <option value="head_out">head outputs (every position)</option>
  </select></label>
  <button id="patch-run">Run sweep</button>
  <button id="patch-cancel" disabled>Cancel</button>
  <progress data-testid="patching-progress" id="patch-progress" value="0" max="1"></progress>
  <span id="patch-status" class="muted"></span>
</div>
<div data-testid="patching-result" id="patch-result" class="figure"></div>

${QUEUE_PANEL}
${ATTRIBUTION_PANEL}
<h2>IOI prompts</h2>
<p class="muted">Pairs from the IOI dataset generator: the corrupted prompt has all three names replaced by fresh ones; the answer is the
indirect object, the other the subject. “Use” puts a pair into the prompt box and the patching panels.</p>
<div class="row">
  <label>prompts <input type="number" id="ioi-n" value="8" min="1" style="width:5em"></label>
  <label>seed <input type="number" id="ioi-seed" value="1" min="0" style="width:7em"></label>
  <button id="ioi-run">Generate</button>
</div>
<ol data-testid="ioi-prompts" id="ioi-list"></ol>
</body>
</html>
`;
}
