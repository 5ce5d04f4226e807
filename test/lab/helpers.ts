// Shared by the lab tests: the toy-ioi lab model (loaded once per test file), a server on 127.0.0.1, and raw HTTP
// requests written on a socket (so that nothing normalises `/../` or percent-encoding on the way).
import { connect } from "node:net";
import { HookedTransformer } from "../../src/model/hooked-transformer.js";
import { LabModel } from "../../src/lab/compute.js";
import { startLab, type LabServer, type LabServerOptions } from "../../src/lab/server.js";

let lab: Promise<LabModel> | null = null;

export function toyLab(): Promise<LabModel> {
  lab ??= HookedTransformer.fromPretrained("toy-ioi").then((m) => new LabModel(m, "toy-ioi"));
  return lab;
}

export async function startToyLab(opts: LabServerOptions = {}): Promise<LabServer> {
  return startLab(await toyLab(), opts);
}

export const IOI_CLEAN = "When Mary and John went to the store, John gave a drink to";
export const IOI_CORRUPTED = "When Mary and John went to the store, Mary gave a drink to";

// 61 tokens with BOS, the two prompts differing from position 2 on: ~230 patched runs that change something for
// resid_pre, long enough to cancel in the middle
const MIDDLE = " and then".repeat(23);
export const LONG_PATCH = {
  kind: "resid_pre",
  clean: `When Mary and John${MIDDLE} went to the store, John gave a drink to`,
  corrupted: `When John and Mary${MIDDLE} went to the store, Mary gave a drink to`,
  answer: " Mary",
  other: " John",
};

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` (request line and headers, CRLF-separated, without the final blank line) and `body` as they are;
 *  the status, headers and body of the answer. */
export function rawRequest(port: number, head: string, body = ""): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`${head}\r\nConnection: close\r\n\r\n${body}`));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const end = text.indexOf("\r\n\r\n");
      const headers = Object.fromEntries(
        text
          .slice(0, end)
          .split("\r\n")
          .slice(1)
          .map((l) => {
            const colon = l.indexOf(":");
            return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
          }),
      );
      resolve({ status, headers, body: text.slice(end + 4) });
    });
  });
}

/** GET `path` written raw on the socket. */
export function rawGet(port: number, path: string): Promise<RawAnswer> {
  return rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}`);
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}
