// The lab's queue sweeps (`tlens lab --queue URL`): POST /api/sweep turns the request into a job spec for the lab's
// model (the IOI task), hands it to the queue executor (BullMQ: `tlens worker` processes anywhere run its shards) and
// streams NDJSON SweepEvents: submitted, progress per shard (done / total, ETA), the merged result with the figures of
// `tlens sweep --html`, or the error. The client closing the stream cancels the sweep. The lab's own model stays free.
import type { ServerResponse } from "node:http";
import { sweepFigures } from "../cli/sweep-figures.js";
import type { Executor } from "../jobs/executor.js";
import { validateSpec, type ModelSpec, type SweepSpec } from "../jobs/spec.js";
import { describeFailure } from "./calls.js";
import { SECURITY_HEADERS } from "./http.js";
import type { QueueModeInfo, SweepEvent } from "./protocol.js";
import { asObject, integer } from "./validate.js";

/** What the lab needs to send sweeps to a queue. */
export interface LabSweeps {
  executor: Executor;
  /** The model the workers load (`tlens worker --model` with the lab's --model). */
  model: ModelSpec;
  /** The queue's name, as the page shows it. */
  queue: string;
}

/** Prompt pairs one lab sweep may ask for. */
export const MAX_SWEEP_PAIRS = 10_000;

/** The request as a job spec of the lab's model (a SpecError or LabError, status 400, when it is not one). */
export function sweepSpec(model: ModelSpec, body: unknown): SweepSpec {
  const b = asObject(body, ["kinds", "pairs", "seed", "promptType", "pairsPerShard"]);
  const pairs = integer(b, "pairs", 1, MAX_SWEEP_PAIRS);
  const seed = integer(b, "seed", 0, 2 ** 32 - 1, 1);
  const pairsPerShard = integer(b, "pairsPerShard", 1, MAX_SWEEP_PAIRS, 8);
  const options = b.promptType === undefined ? {} : { options: { promptType: b.promptType } };
  return validateSpec({
    model,
    task: { name: "ioi", pairs, seed, ...options },
    sweep: b.kinds,
    shard: { pairsPerShard },
  });
}

export function queueModeInfo(sweeps: LabSweeps | undefined): QueueModeInfo {
  return sweeps
    ? { available: true, queue: sweeps.queue }
    : { available: false, reason: "the lab was started without --queue" };
}

/** POST /api/sweep: validates (errors answered as JSON before the stream starts), then streams the sweep's events. */
export async function sweepRoute(
  sweeps: LabSweeps,
  body: unknown,
  signal: AbortSignal,
  res: ServerResponse,
): Promise<void> {
  const spec = sweepSpec(sweeps.model, body);
  const event = (e: SweepEvent): void => {
    if (!res.destroyed) res.write(`${JSON.stringify(e)}\n`);
  };
  res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8", ...SECURITY_HEADERS });
  let submitted = false;
  try {
    const result = await sweeps.executor.run(spec, {
      signal,
      onProgress: (p) => {
        if (!submitted) event({ type: "submitted", shards: p.total, queue: sweeps.queue });
        submitted = true;
        event({ type: "progress", ...p });
      },
    });
    event({ type: "result", result: { ...result, figures: sweepFigures(result) } });
  } catch (e) {
    if (!signal.aborted) event({ type: "error", error: describeFailure(e).message });
  }
  res.end();
}
