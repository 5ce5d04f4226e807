// The lab page's behaviour. It reaches the model only through a LabClient — the HTTP one (the server computes), or,
// with "run in browser" (or ?mode=browser), the Web Worker one (the model loaded into the page) — and draws what
// comes back: figures with plotly.js, viewers with tlens's viewer runtime (both loaded by the page before this module).
import type { Figure, Viewer } from "../../viz/types.js";
import type { LoadProgress } from "../../browser/fetch-model.js";
import type {
  BrowserModeInfo,
  CircuitMethod,
  IoiPair,
  LabClient,
  LabInfo,
  PatchKind,
  RunResponse,
} from "../protocol.js";
import { LabPageError } from "./errors.js";
import { HttpLabClient } from "./http-client.js";
import { setupSaePanel, type SaePanel } from "./sae-panel.js";
import { setupSweepPanel } from "./sweep-panel.js";
import { WorkerLabClient } from "./worker-client.js";

interface PlotlyGlobal {
  react(el: HTMLElement, data: unknown[], layout: object, config: object): Promise<unknown>;
  purge(el: HTMLElement): void;
}
interface ViewerGlobal {
  render(el: HTMLElement, viewer: Viewer): void;
}
const globals = window as unknown as { Plotly: PlotlyGlobal; tlensViz: ViewerGlobal };

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new LabPageError(`the page has no #${id}`);
  return el as T;
}

const ui = {
  info: byId<HTMLDivElement>("model-info"),
  runInBrowser: byId<HTMLInputElement>("run-in-browser"),
  computeMode: byId<HTMLElement>("compute-mode"),
  browserLoading: byId<HTMLProgressElement>("browser-loading"),
  browserNote: byId<HTMLSpanElement>("browser-note"),
  error: document.querySelector<HTMLDivElement>("[data-testid=error]")!,
  prompt: byId<HTMLTextAreaElement>("prompt"),
  run: byId<HTMLButtonElement>("run"),
  tokens: byId<HTMLDivElement>("tokens"),
  predictions: byId<HTMLDivElement>("predictions"),
  attLayer: byId<HTMLSelectElement>("att-layer"),
  attHead: byId<HTMLSelectElement>("att-head"),
  attention: byId<HTMLDivElement>("attention"),
  lensToken: byId<HTMLInputElement>("lens-token"),
  lensRun: byId<HTMLButtonElement>("lens-run"),
  lens: byId<HTMLDivElement>("lens"),
  dlaAnswer: byId<HTMLInputElement>("dla-answer"),
  dlaOther: byId<HTMLInputElement>("dla-other"),
  dlaRun: byId<HTMLButtonElement>("dla-run"),
  dla: byId<HTMLDivElement>("dla"),
  patchClean: byId<HTMLInputElement>("patch-clean"),
  patchCorrupted: byId<HTMLInputElement>("patch-corrupted"),
  patchAnswer: byId<HTMLInputElement>("patch-answer"),
  patchOther: byId<HTMLInputElement>("patch-other"),
  patchKind: byId<HTMLSelectElement>("patch-kind"),
  patchRun: byId<HTMLButtonElement>("patch-run"),
  patchCancel: byId<HTMLButtonElement>("patch-cancel"),
  patchProgress: byId<HTMLProgressElement>("patch-progress"),
  patchStatus: byId<HTMLSpanElement>("patch-status"),
  patchResult: byId<HTMLDivElement>("patch-result"),
  attrCircuit: byId<HTMLSelectElement>("attr-circuit"),
  attrTop: byId<HTMLInputElement>("attr-top"),
  attrRun: byId<HTMLButtonElement>("attr-run"),
  attrStatus: byId<HTMLSpanElement>("attr-status"),
  attrResid: byId<HTMLDivElement>("attr-resid"),
  attrHeads: byId<HTMLDivElement>("attr-heads"),
  attrCircuitView: byId<HTMLDivElement>("attr-circuit-view"),
  ioiN: byId<HTMLInputElement>("ioi-n"),
  ioiSeed: byId<HTMLInputElement>("ioi-seed"),
  ioiRun: byId<HTMLButtonElement>("ioi-run"),
  ioiList: byId<HTMLOListElement>("ioi-list"),
};

const server = new HttpLabClient();
/** Where requests go: the server, or the model in this page once it is loaded. */
let client: LabClient = server;
let inPage: WorkerLabClient | null = null;
/** The prompt of the last successful run (the panels below ask about it) and its top prediction. */
let current: { prompt: string; top: string } | null = null;
/** The SAE panel (`tlens lab --sae`; does nothing without one). */
let saePanel: SaePanel = { show: async () => {} };

function showError(e: unknown): void {
  ui.error.textContent = e instanceof Error ? e.message : String(e);
}

/** Runs an action, showing its error (if any) in the page's error box. */
async function guarded(action: () => Promise<void>): Promise<void> {
  ui.error.textContent = "";
  try {
    await action();
  } catch (e) {
    showError(e);
  }
}

function showTok(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

async function drawFigure(el: HTMLElement, fig: Figure): Promise<void> {
  el.removeAttribute("data-rendered");
  el.style.height = `${typeof fig.layout.height === "number" ? fig.layout.height : 450}px`;
  await globals.Plotly.react(el, fig.data, fig.layout, { responsive: true, displaylogo: false, ...fig.config });
  el.setAttribute("data-rendered", "1");
}

function drawViewer(el: HTMLElement, viewer: Viewer): void {
  el.replaceChildren();
  el.removeAttribute("data-rendered");
  globals.tlensViz.render(el, viewer);
}

function tokenArg(s: string): string | number {
  return /^#\d+$/.test(s.trim()) ? Number(s.trim().slice(1)) : s;
}

function drawRun(r: RunResponse): void {
  ui.tokens.replaceChildren(
    ...r.tokens.map((t, i) => {
      const span = document.createElement("span");
      span.dataset.testid = "token";
      span.dataset.id = String(t.id);
      span.title = `position ${i}, id ${t.id}`;
      span.textContent = showTok(t.text);
      const sub = document.createElement("sub");
      sub.textContent = String(t.id);
      span.appendChild(sub);
      return span;
    }),
  );
  const table = document.createElement("table");
  table.className = "preds";
  table.dataset.testid = "top-predictions";
  table.createTHead().innerHTML = "<tr><th>#</th><th>next token</th><th>id</th><th>probability</th><th>logit</th></tr>";
  const body = table.createTBody();
  r.predictions.forEach((p, i) => {
    const row = body.insertRow();
    row.dataset.prob = String(p.prob); // unrounded, for comparisons
    for (const v of [String(i + 1), showTok(p.text), String(p.id), p.prob.toFixed(4), p.logit.toFixed(3)])
      row.insertCell().textContent = v;
    row.cells[1]!.className = "tok";
    row.title = "use this token in the logit lens and as the DLA answer";
    row.addEventListener("click", () => {
      ui.lensToken.value = p.text;
      ui.dlaAnswer.value = p.text;
      void guarded(async () => {
        await Promise.all([showLens(), showDla()]);
      });
    });
  });
  ui.predictions.replaceChildren(table);
}

async function showAttention(): Promise<void> {
  if (!current) return;
  const head = ui.attHead.value === "" ? undefined : Number(ui.attHead.value);
  const r = await client.attention({ prompt: current.prompt, layer: Number(ui.attLayer.value), head });
  drawViewer(ui.attention, r.viewer);
}

async function showLens(): Promise<void> {
  if (!current) return;
  const r = await client.logitLens({ prompt: current.prompt, token: tokenArg(ui.lensToken.value || current.top) });
  await drawFigure(ui.lens, r.figure);
}

async function showDla(): Promise<void> {
  if (!current) return;
  const other = ui.dlaOther.value;
  const r = await client.dla({
    prompt: current.prompt,
    answer: tokenArg(ui.dlaAnswer.value || current.top),
    ...(other ? { other: tokenArg(other) } : {}),
  });
  await drawFigure(ui.dla, r.figure);
}

async function runPrompt(): Promise<void> {
  const prompt = ui.prompt.value;
  ui.run.disabled = true;
  // the panels show the previous prompt until this run redraws them: not "rendered" meanwhile
  for (const el of [ui.attention, ui.lens, ui.dla]) el.removeAttribute("data-rendered");
  try {
    const r = await client.run({ prompt });
    current = { prompt, top: r.predictions[0]!.text };
    drawRun(r);
    await showAttention();
    await showLens();
    await showDla();
    await saePanel.show(prompt);
  } finally {
    ui.run.disabled = false;
  }
}

let sweep: AbortController | null = null;

async function runPatch(): Promise<void> {
  sweep?.abort();
  const controller = new AbortController();
  sweep = controller;
  ui.patchRun.disabled = true;
  ui.patchCancel.disabled = false;
  ui.patchProgress.value = 0;
  ui.patchProgress.max = 1;
  ui.patchStatus.textContent = "waiting for the model…";
  let events = 0;
  try {
    const other = ui.patchOther.value;
    const r = await client.patch(
      {
        kind: ui.patchKind.value as PatchKind,
        clean: ui.patchClean.value,
        corrupted: ui.patchCorrupted.value,
        answer: tokenArg(ui.patchAnswer.value),
        ...(other ? { other: tokenArg(other) } : {}),
      },
      (done, total) => {
        ui.patchProgress.max = total;
        ui.patchProgress.value = done;
        ui.patchProgress.dataset.events = String(++events);
        ui.patchStatus.textContent = `${done} / ${total} patched runs`;
      },
      controller.signal,
    );
    ui.patchStatus.textContent = `done: metric clean ${r.clean.toFixed(3)}, corrupted ${r.corrupted.toFixed(3)}`;
    await drawFigure(ui.patchResult, r.figure);
  } catch (e) {
    if (controller.signal.aborted) ui.patchStatus.textContent = "cancelled";
    else {
      ui.patchStatus.textContent = "failed";
      throw e;
    }
  } finally {
    if (sweep === controller) sweep = null;
    ui.patchRun.disabled = false;
    ui.patchCancel.disabled = true;
  }
}

/** The patching panel's prompt pair and metric: the attribution estimate, and the circuit when one is asked for. */
async function runAttribution(): Promise<void> {
  ui.attrRun.disabled = true;
  ui.attrStatus.textContent = "computing…";
  for (const el of [ui.attrResid, ui.attrHeads, ui.attrCircuitView]) el.removeAttribute("data-rendered");
  try {
    const other = ui.patchOther.value;
    const r = await client.attribution({
      clean: ui.patchClean.value,
      corrupted: ui.patchCorrupted.value,
      answer: tokenArg(ui.patchAnswer.value),
      ...(other ? { other: tokenArg(other) } : {}),
      circuit: ui.attrCircuit.value as CircuitMethod,
      topN: Number(ui.attrTop.value),
    });
    await drawFigure(ui.attrResid, r.residPreFigure);
    await drawFigure(ui.attrHeads, r.headsFigure);
    if (r.circuit) drawViewer(ui.attrCircuitView, r.circuit);
    else ui.attrCircuitView.replaceChildren();
    ui.attrStatus.textContent =
      `done: metric clean ${r.clean.toFixed(3)}, corrupted ${r.corrupted.toFixed(3)}` +
      (r.circuit ? `; ${r.edges} edges scored, ${r.circuitEdges} in the circuit` : "");
  } catch (e) {
    ui.attrStatus.textContent = "failed";
    throw e;
  } finally {
    ui.attrRun.disabled = false;
  }
}

function useIoiPair(p: IoiPair): void {
  ui.prompt.value = p.clean;
  ui.patchClean.value = p.clean;
  ui.patchCorrupted.value = p.corrupted;
  ui.patchAnswer.value = p.answer;
  ui.patchOther.value = p.other;
  ui.dlaAnswer.value = p.answer;
  ui.dlaOther.value = p.other;
  ui.lensToken.value = p.answer;
}

async function generateIoi(): Promise<void> {
  const r = await client.ioiPrompts({ n: Number(ui.ioiN.value), seed: Number(ui.ioiSeed.value) });
  ui.ioiList.replaceChildren(
    ...r.pairs.map((p) => {
      const li = document.createElement("li");
      li.textContent = `${p.clean}  ⟶  answer "${p.answer.trim()}", other "${p.other.trim()}"; corrupted: ${p.corrupted}`;
      const use = document.createElement("button");
      use.textContent = "Use";
      use.addEventListener("click", () => {
        useIoiPair(p);
        void guarded(runPrompt);
      });
      li.appendChild(use);
      return li;
    }),
  );
}

function fillSelect(sel: HTMLSelectElement, n: number, prefix: string): void {
  for (let i = 0; i < n; i++) sel.add(new Option(`${prefix}${i}`, String(i)));
}

function describe(info: LabInfo): string {
  return `model ${info.model}: ${info.nLayers} layers × ${info.nHeads} heads, context ${info.nCtx} tokens${info.prependBos ? ", BOS prepended" : ""}`;
}

function showLoading(files: Map<string, LoadProgress>): void {
  const all = [...files.values()];
  const loaded = all.reduce((n, p) => n + p.loaded, 0);
  const total = all.every((p) => p.total !== null) ? all.reduce((n, p) => n + (p.total ?? 0), 0) : null;
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  if (total) {
    ui.browserLoading.max = total;
    ui.browserLoading.value = loaded;
  } else ui.browserLoading.removeAttribute("value"); // indeterminate
  ui.browserNote.textContent = `loading the model into the page: ${mb(loaded)}${total ? ` / ${mb(total)}` : ""} MB`;
}

/** Loads the model into a Web Worker of this page (once; kept when switching back to the server). */
async function loadInPage(mode: Extract<BrowserModeInfo, { available: true }>, name: string): Promise<WorkerLabClient> {
  const files = new Map<string, LoadProgress>();
  ui.browserLoading.hidden = false;
  try {
    return await WorkerLabClient.start({
      worker: mode.worker,
      model: mode.model,
      name,
      onProgress: (p) => {
        files.set(p.file, p);
        showLoading(files);
      },
    });
  } finally {
    ui.browserLoading.hidden = true;
    ui.browserNote.textContent = "";
  }
}

/** Sends requests to the model in this page (`inBrowser`) or to the server. */
async function setMode(inBrowser: boolean, mode: BrowserModeInfo, name: string): Promise<void> {
  if (!inBrowser || !mode.available) {
    client = server;
    ui.runInBrowser.checked = false;
    ui.computeMode.textContent = "server";
    if (inBrowser && !mode.available) throw new LabPageError(`cannot run in the browser: ${mode.reason}`);
    return;
  }
  ui.runInBrowser.checked = true;
  ui.runInBrowser.disabled = true;
  try {
    inPage ??= await loadInPage(mode, name);
    client = inPage;
    const { backend, threads } = inPage.backend;
    ui.computeMode.textContent = `browser (${backend}${backend === "wasm" ? `, ${threads} thread${threads > 1 ? "s" : ""}` : ""})`;
  } catch (e) {
    ui.runInBrowser.checked = false;
    throw e;
  } finally {
    ui.runInBrowser.disabled = false;
  }
}

async function start(): Promise<void> {
  const [info, mode] = await Promise.all([
    client.info(),
    fetch("/api/browser").then((r) => r.json() as Promise<BrowserModeInfo>),
  ]);
  ui.info.textContent = describe(info);
  fillSelect(ui.attLayer, info.nLayers, "");
  fillSelect(ui.attHead, info.nHeads, "");
  ui.prompt.maxLength = info.limits.maxPromptChars;
  ui.ioiN.max = String(info.limits.maxIoiPrompts);
  ui.run.addEventListener("click", () => void guarded(runPrompt));
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void guarded(runPrompt);
    }
  });
  ui.attLayer.addEventListener("change", () => void guarded(showAttention));
  ui.attHead.addEventListener("change", () => void guarded(showAttention));
  ui.lensRun.addEventListener("click", () => void guarded(showLens));
  ui.dlaRun.addEventListener("click", () => void guarded(showDla));
  ui.patchRun.addEventListener("click", () => void guarded(runPatch));
  ui.patchCancel.addEventListener("click", () => sweep?.abort());
  ui.attrRun.addEventListener("click", () => void guarded(runAttribution));
  ui.ioiRun.addEventListener("click", () => void guarded(generateIoi));
  await setupSweepPanel(server, drawFigure, guarded);
  saePanel = await setupSaePanel(server, guarded);
  if (mode.available) {
    ui.runInBrowser.disabled = false;
    ui.runInBrowser.addEventListener(
      "change",
      () => void guarded(() => setMode(ui.runInBrowser.checked, mode, info.model)),
    );
  } else {
    ui.browserNote.textContent = `run in browser is unavailable: ${mode.reason}`;
  }
  // ?mode=browser starts in the page; when that fails the page says why and stays on the server
  if (new URLSearchParams(location.search).get("mode") === "browser")
    await setMode(true, mode, info.model).catch(showError);
  // the default prompt is run at once, so the page opens with every panel drawn (its failure shows like any other)
  await runPrompt().catch(showError);
  document.body.dataset.ready = "1";
}

void guarded(start);
