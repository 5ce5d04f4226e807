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

/** Sends `head` (request line and headers, CRLF-separated, without the final blank line) and `body` as they are;
 *  the status and body of the answer. */
export function rawRequest(port: number, head: string, body = ""): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`${head}\r\nConnection: close\r\n\r\n${body}`));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
  });
}

/** GET `path` written raw on the socket. */
export function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}`);
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}
