// The lab's requests as calls on a LabModel, shared by the HTTP server (server.ts) and the in-page Web Worker
// (worker-host.ts): each validates its body at once (a LabError(400) before anything waits) and returns the job that
// computes the answer, for the caller's queue. No HTTP and no Node built-ins here.
import { BackendError, TlensError } from "../errors.js";
import type { LabModel, PatchRunOptions } from "./compute.js";
import type { IoiResponse, PatchResponse } from "./protocol.js";
import { validateSaeFeatures } from "./sae.js";
import {
  LabError,
  validateAttention,
  validateAttribution,
  validateDla,
  validateIoi,
  validateLogitLens,
  validatePatch,
  validateRun,
} from "./validate.js";

/** A validated request's computation (run when the queue gives it the model). */
export type LabJob = () => Promise<unknown>;

/** The requests that run the model and answer once: body → job (validation throws). */
export const MODEL_CALLS = {
  run: (lab: LabModel, body: unknown): LabJob => {
    const r = validateRun(lab.model, body);
    return () => lab.run(r);
  },
  attention: (lab: LabModel, body: unknown): LabJob => {
    const r = validateAttention(lab.model, body);
    return () => lab.attention(r);
  },
  logitLens: (lab: LabModel, body: unknown): LabJob => {
    const r = validateLogitLens(lab.model, body);
    return () => lab.logitLens(r);
  },
  dla: (lab: LabModel, body: unknown): LabJob => {
    const r = validateDla(lab.model, body);
    return () => lab.dla(r);
  },
  attribution: (lab: LabModel, body: unknown): LabJob => {
    const r = validateAttribution(lab.model, body);
    return () => lab.attribution(r);
  },
} as const;

export type ModelCall = keyof typeof MODEL_CALLS;

/** The SAE panel's request (server only: the in-page worker has no SAE); 404 when the lab has none. */
export function saeCall(lab: LabModel, body: unknown): LabJob {
  const r = validateSaeFeatures(lab.model, lab.sae, body);
  return () => lab.saeFeatures(r);
}

/** A patching sweep: body → the sweep, to run with a signal and a progress callback (validation throws). */
export function patchCall(lab: LabModel, body: unknown): (opts: PatchRunOptions) => Promise<PatchResponse> {
  const r = validatePatch(lab.model, body);
  return (opts) => lab.patch(r, opts);
}

/** IOI prompt pairs: no model run, answered at once. */
export function ioiCall(lab: LabModel, body: unknown): IoiResponse {
  return lab.ioiPrompts(validateIoi(body));
}

/** The status and message a failure is answered with: LabErrors as they are, the library's errors (bad tokens, ...)
 *  as 400, anything else as 500, a BackendError among them (the kernels failing is the server's fault, not the
 *  request's). */
export function describeFailure(e: unknown): { status: number; message: string } {
  if (e instanceof LabError) return { status: e.status, message: e.message };
  if (e instanceof TlensError && !(e instanceof BackendError)) return { status: 400, message: e.message };
  return { status: 500, message: `internal error: ${e instanceof Error ? e.message : String(e)}` };
}
