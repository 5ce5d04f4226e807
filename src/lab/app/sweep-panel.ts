// The queue-sweep panel (`tlens lab --queue`): an IOI sweep of the lab's model sent to the job queue, its progress
// (shards done / total, ETA), cancel, and the merged result's figures. Hidden when the lab has no queue.
import type { Figure } from "../../viz/types.js";
import type { SweepEvent, SweepRequest } from "../protocol.js";
import { LabPageError } from "./errors.js";
import type { HttpLabClient } from "./http-client.js";

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new LabPageError(`the page has no #${id}`);
  return el as T;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** Shows the panel when the server has a queue and wires its buttons; `draw` draws one figure into an element. */
export async function setupSweepPanel(
  server: HttpLabClient,
  draw: (el: HTMLElement, fig: Figure) => Promise<void>,
  guarded: (action: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const ui = {
    panel: byId<HTMLElement>("queue-panel"),
    name: byId<HTMLSpanElement>("queue-name"),
    kinds: byId<HTMLInputElement>("queue-kinds"),
    pairs: byId<HTMLInputElement>("queue-pairs"),
    seed: byId<HTMLInputElement>("queue-seed"),
    perShard: byId<HTMLInputElement>("queue-per-shard"),
    run: byId<HTMLButtonElement>("queue-run"),
    cancel: byId<HTMLButtonElement>("queue-cancel"),
    progress: byId<HTMLProgressElement>("queue-progress"),
    status: byId<HTMLSpanElement>("queue-status"),
    result: byId<HTMLDivElement>("queue-result"),
  };
  const mode = await server.queueMode();
  if (!mode.available) return;
  ui.panel.hidden = false;
  ui.name.textContent = mode.queue;
  let running: AbortController | null = null;

  const onEvent = (e: SweepEvent): void => {
    if (e.type === "submitted") ui.status.textContent = `${e.shards} shards on the queue, waiting for workers…`;
    if (e.type !== "progress") return;
    ui.progress.max = e.total;
    ui.progress.value = e.done;
    ui.status.textContent = `${e.done} / ${e.total} shards (${seconds(e.elapsedMs)}${e.etaMs === null ? "" : `, ETA ${seconds(e.etaMs)}`})`;
  };

  const submit = async (): Promise<void> => {
    running?.abort();
    const controller = new AbortController();
    running = controller;
    ui.run.disabled = true;
    ui.cancel.disabled = false;
    ui.progress.value = 0;
    ui.status.textContent = "submitting…";
    const req: SweepRequest = {
      kinds: ui.kinds.value
        .split(",")
        .map((k) => k.trim())
        .filter(Boolean),
      pairs: Number(ui.pairs.value),
      seed: Number(ui.seed.value),
      pairsPerShard: Number(ui.perShard.value),
    };
    try {
      const r = await server.sweep(req, onEvent, controller.signal);
      ui.status.textContent = `done: ${r.shards} shards, ${r.nPairs} pairs`;
      ui.result.replaceChildren();
      for (const fig of r.figures) {
        const el = document.createElement("div");
        el.className = "figure";
        ui.result.append(el);
        await draw(el, fig);
      }
    } catch (e) {
      if (!controller.signal.aborted) {
        ui.status.textContent = "failed";
        throw e;
      }
      ui.status.textContent = "cancelled";
    } finally {
      if (running === controller) running = null;
      ui.run.disabled = false;
      ui.cancel.disabled = true;
    }
  };
  ui.run.addEventListener("click", () => void guarded(submit));
  ui.cancel.addEventListener("click", () => running?.abort());
}
