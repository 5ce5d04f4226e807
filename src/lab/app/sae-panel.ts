// The SAE panel (`tlens lab --sae DIR`): pick a feature of the lab's SAE and see where it fires on the current
// prompt (each token's background is its activation relative to the feature's largest on the prompt), the features
// that fire most there, and the feature's logit effects. Always computed on the server (the in-page worker has no
// SAE). Hidden when the lab has no SAE.
import type { SaeFeaturesResponse, TokenInfo } from "../protocol.js";
import { LabPageError } from "./errors.js";
import type { HttpLabClient } from "./http-client.js";

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new LabPageError(`the page has no #${id}`);
  return el as T;
}

function showTok(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

export interface SaePanel {
  /** Redraws the panel for the prompt (after a run); a no-op when the lab has no SAE. */
  show(prompt: string): Promise<void>;
}

function drawTokens(el: HTMLElement, r: SaeFeaturesResponse): void {
  el.replaceChildren(
    ...r.tokens.map((t: TokenInfo, i) => {
      const span = document.createElement("span");
      const a = r.acts[i]!;
      span.className = "sae-tok";
      span.dataset.act = String(a);
      span.title = `position ${i}: activation ${a.toFixed(4)}`;
      span.textContent = showTok(t.text);
      const alpha = r.maxActivation > 0 ? Math.max(0, a) / r.maxActivation : 0;
      span.style.background = `rgba(255, 140, 0, ${alpha.toFixed(3)})`;
      return span;
    }),
  );
}

function drawLogits(el: HTMLElement, r: SaeFeaturesResponse): void {
  if (!r.logits) {
    el.textContent = "no logit effects: the SAE does not read the residual stream";
    return;
  }
  const table = document.createElement("table");
  table.className = "sae-logits";
  table.createTHead().innerHTML = "<tr><th>pushed down</th><th>effect</th><th>pushed up</th><th>effect</th></tr>";
  const body = table.createTBody();
  for (let i = 0; i < Math.max(r.logits.top.length, r.logits.bottom.length); i++) {
    const row = body.insertRow();
    const down = r.logits.bottom[i],
      up = r.logits.top[i];
    for (const v of [
      down ? showTok(down.text) : "",
      down ? down.effect.toFixed(3) : "",
      up ? showTok(up.text) : "",
      up ? up.effect.toFixed(3) : "",
    ])
      row.insertCell().textContent = v;
    row.cells[0]!.className = row.cells[2]!.className = "tok";
  }
  el.replaceChildren(table);
}

/** Shows the panel when the server has an SAE and wires it; `guarded` shows an action's error in the page. */
export async function setupSaePanel(
  server: HttpLabClient,
  guarded: (action: () => Promise<void>) => Promise<void>,
): Promise<SaePanel> {
  const ui = {
    panel: byId<HTMLElement>("sae-panel"),
    hook: byId<HTMLElement>("sae-hook"),
    feature: byId<HTMLInputElement>("sae-feature"),
    run: byId<HTMLButtonElement>("sae-run"),
    status: byId<HTMLSpanElement>("sae-status"),
    top: byId<HTMLDivElement>("sae-top"),
    tokens: byId<HTMLDivElement>("sae-tokens"),
    logits: byId<HTMLDivElement>("sae-logits"),
  };
  const mode = await server.saeMode();
  if (!mode.available) return { show: async () => {} };
  ui.panel.hidden = false;
  ui.hook.textContent = `${mode.hookName} (${mode.architecture}, ${mode.dSae} features)`;
  ui.feature.max = String(mode.dSae - 1);
  let prompt: string | null = null;

  const show = async (): Promise<void> => {
    if (prompt === null) return;
    ui.panel.removeAttribute("data-rendered");
    ui.status.textContent = "computing…";
    const f = ui.feature.value.trim();
    try {
      const r = await server.saeFeatures({ prompt, ...(f === "" ? {} : { feature: Number(f) }) });
      ui.status.textContent = `feature ${r.feature}: max ${r.maxActivation.toFixed(3)} on this prompt; ${r.firing} of ${r.dSae} features fire here`;
      ui.top.replaceChildren(
        ...r.top.map((t) => {
          const b = document.createElement("button");
          b.dataset.feature = String(t.feature);
          b.className = t.feature === r.feature ? "on" : "";
          b.textContent = `#${t.feature} ${t.max.toFixed(2)} at "${showTok(r.tokens[t.position]!.text)}"`;
          b.addEventListener("click", () => {
            ui.feature.value = String(t.feature);
            void guarded(show);
          });
          return b;
        }),
      );
      drawTokens(ui.tokens, r);
      drawLogits(ui.logits, r);
      ui.panel.dataset.feature = String(r.feature);
      ui.panel.setAttribute("data-rendered", "1");
    } catch (e) {
      ui.status.textContent = "failed";
      throw e;
    }
  };
  ui.run.addEventListener("click", () => void guarded(show));
  ui.feature.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void guarded(show);
  });
  return {
    show: (p) => {
      prompt = p;
      return show();
    },
  };
}
