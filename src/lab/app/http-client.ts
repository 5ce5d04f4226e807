// LabClient over the lab server's HTTP API (JSON in and out; the patching sweep as an NDJSON stream of PatchEvents,
// a queue sweep as one of SweepEvents).
import type {
  AttentionRequest,
  AttentionResponse,
  AttributionRequest,
  AttributionResponse,
  DlaRequest,
  DlaResponse,
  ErrorBody,
  IoiRequest,
  IoiResponse,
  LabClient,
  LabInfo,
  LogitLensRequest,
  LogitLensResponse,
  PatchEvent,
  PatchRequest,
  PatchResponse,
  QueueModeInfo,
  RunRequest,
  RunResponse,
  SaeFeaturesRequest,
  SaeFeaturesResponse,
  SaeModeInfo,
  SweepEvent,
  SweepRequest,
  SweepResponse,
} from "../protocol.js";

/** An error the server answered with (its message is meant for the researcher); the page's stand-in for the
 *  server's LabError (see errors.ts for why it is no TlensError). */
export class LabRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "LabRequestError";
  }
}

async function failure(r: Response): Promise<LabRequestError> {
  let message = `${r.status} ${r.statusText}`;
  try {
    const body = (await r.json()) as ErrorBody;
    if (typeof body.error === "string") message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new LabRequestError(message, r.status);
}

export class HttpLabClient implements LabClient {
  constructor(private readonly base = "") {}

  private async call(path: string, body?: object, signal?: AbortSignal): Promise<Response> {
    const init: RequestInit =
      body === undefined
        ? { signal }
        : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal };
    const r = await fetch(`${this.base}${path}`, init);
    if (!r.ok) throw await failure(r);
    return r;
  }

  private async json<T>(path: string, body?: object): Promise<T> {
    return (await (await this.call(path, body)).json()) as T;
  }

  info(): Promise<LabInfo> {
    return this.json("/api/info");
  }
  run(req: RunRequest): Promise<RunResponse> {
    return this.json("/api/run", req);
  }
  attention(req: AttentionRequest): Promise<AttentionResponse> {
    return this.json("/api/attention", req);
  }
  logitLens(req: LogitLensRequest): Promise<LogitLensResponse> {
    return this.json("/api/logit-lens", req);
  }
  dla(req: DlaRequest): Promise<DlaResponse> {
    return this.json("/api/dla", req);
  }
  ioiPrompts(req: IoiRequest): Promise<IoiResponse> {
    return this.json("/api/ioi", req);
  }
  attribution(req: AttributionRequest): Promise<AttributionResponse> {
    return this.json("/api/attribution", req);
  }

  async patch(
    req: PatchRequest,
    onProgress: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<PatchResponse> {
    const r = await this.call("/api/patch", req, signal);
    return readStream<PatchEvent, PatchResponse>(r, (event) => {
      if (event.type === "progress") onProgress(event.done, event.total);
      else if (event.type === "result") return event.result;
      else if (event.type === "error") throw new LabRequestError(event.error, 200);
      return undefined;
    });
  }

  /** A queue sweep (`tlens lab --queue`): every event goes to `onEvent`; resolves with the merged result. Aborting
   *  `signal` closes the stream, which cancels the sweep. */
  async sweep(req: SweepRequest, onEvent: (e: SweepEvent) => void, signal?: AbortSignal): Promise<SweepResponse> {
    const r = await this.call("/api/sweep", req, signal);
    return readStream<SweepEvent, SweepResponse>(r, (event) => {
      onEvent(event);
      if (event.type === "result") return event.result;
      if (event.type === "error") throw new LabRequestError(event.error, 200);
      return undefined;
    });
  }

  queueMode(): Promise<QueueModeInfo> {
    return this.json("/api/queue");
  }

  /** The SAE panel (`tlens lab --sae`): whether the lab has an SAE, and its features on a prompt. */
  saeMode(): Promise<SaeModeInfo> {
    return this.json("/api/sae");
  }
  saeFeatures(req: SaeFeaturesRequest): Promise<SaeFeaturesResponse> {
    return this.json("/api/sae-features", req);
  }
}

/** Reads an NDJSON stream event by event until `onEvent` returns a value (the answer) or throws. */
async function readStream<E, T>(r: Response, onEvent: (e: E) => T | undefined): Promise<T> {
  if (!r.body) throw new LabRequestError("the server sent no stream", r.status);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const answer = onEvent(JSON.parse(line) as E);
      if (answer !== undefined) return answer;
    }
  }
  throw new LabRequestError("the stream ended without a result", 200);
}
