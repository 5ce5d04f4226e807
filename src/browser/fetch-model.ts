// Loading a Hugging Face GPT-2 model over fetch: config.json + model.safetensors from a base URL, the bytes counted
// as they arrive (progress). Parsing and conversion are the Node loader's own pure parsers (safetensors, hf-config,
// gpt2); only the transport differs. No Node built-ins: this runs in a page or a Web Worker.
import { LoadError } from "../errors.js";
import { convertGpt2Weights } from "../loading/gpt2.js";
import { hfConfigExtras, hfConfigToTL } from "../loading/hf-config.js";
import { readSafetensors } from "../loading/safetensors.js";
import type { PretrainedWeights } from "../model/pretrained.js";
import { gpt2Tokenizer } from "../tokenizer/index.js";

/** Bytes of one file received so far; `total` is null when the server sent no Content-Length. */
export interface LoadProgress {
  file: string;
  loaded: number;
  total: number | null;
}

export interface FetchModelOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Aborts the downloads (the load then rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The folder URL of a model: `url` itself, or its folder when it names config.json / a .safetensors file;
 *  relative URLs resolve against the page (or worker) location. Always ends with "/". */
export function modelBaseUrl(url: string): string {
  const base = typeof location !== "undefined" ? location.href : undefined;
  const u = new URL(url, base);
  if (/\/(config\.json|[^/]*\.safetensors)$/i.test(u.pathname)) u.pathname = u.pathname.replace(/[^/]*$/, "");
  else if (!u.pathname.endsWith("/")) u.pathname += "/";
  return u.href;
}

/** GETs one file in full, reporting progress as chunks arrive. */
export async function fetchBytes(url: string, opts: FetchModelOptions = {}): Promise<Uint8Array> {
  const file = url.slice(url.lastIndexOf("/") + 1);
  let res: Response;
  try {
    res = await fetch(url, { signal: opts.signal });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new LoadError(`${url}: cannot fetch (${(e as Error).message})`);
  }
  if (!res.ok) throw new LoadError(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
  const header = res.headers.get("content-length");
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : null;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  opts.onProgress?.({ file, loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    opts.onProgress?.({ file, loaded, total });
  }
  if (total !== null && loaded !== total) throw new LoadError(`${url}: got ${loaded} bytes, Content-Length said ${total}`);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Reads a Hugging Face GPT-2 model (config.json + model.safetensors) from a base URL: TL config, TL-named weights
 *  and, for GPT-2's vocabulary, the GPT-2 tokenizer (as the Node loader). */
export async function fetchPretrainedWeights(url: string, opts: FetchModelOptions = {}): Promise<PretrainedWeights> {
  const base = modelBaseUrl(url);
  const configUrl = `${base}config.json`;
  const configText = new TextDecoder().decode(await fetchBytes(configUrl, opts));
  let hfConfig: unknown;
  try {
    hfConfig = JSON.parse(configText);
  } catch (e) {
    throw new LoadError(`${configUrl}: not valid JSON (${(e as Error).message})`);
  }
  const cfg = hfConfigToTL(hfConfig, configUrl);
  const extras = hfConfigExtras(hfConfig, configUrl);
  const weightsUrl = `${base}model.safetensors`;
  const { tensors } = readSafetensors(await fetchBytes(weightsUrl, opts), weightsUrl);
  const weights = convertGpt2Weights(tensors, cfg, weightsUrl, { tieWordEmbeddings: extras.tieWordEmbeddings });
  const tokenizer = cfg.dVocab === 50257 ? gpt2Tokenizer() : null;
  if (tokenizer) {
    cfg.bosTokenId ??= tokenizer.bosTokenId;
    cfg.eosTokenId ??= tokenizer.eosTokenId;
  }
  return { cfg, weights, tokenizer };
}
