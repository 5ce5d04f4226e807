// Loading a Hugging Face model (GPT-2 or a family of src/loading/families) over fetch: config.json, the weights
// (single file or sharded) and the tokenizer files from a base URL, the bytes counted as they arrive (progress).
// Parsing and conversion are the Node loader's own pure code (safetensors, hf-config, gpt2, families); only the
// transport differs. No Node built-ins: this runs in a page or a Web Worker.
import { LoadError, NetworkError } from "../errors.js";
import type { HookedTransformerConfig } from "../loading/config.js";
import { convertFamilyWeights } from "../loading/families/index.js";
import {
  parseShardIndex,
  SHARD_INDEX,
  ShardedSafetensors,
  type SafetensorsShard,
} from "../loading/families/safetensors-source.js";
import { convertGpt2Weights } from "../loading/gpt2.js";
import { hfConfigExtras, hfConfigToTL } from "../loading/hf-config.js";
import type { PretrainedWeights } from "../model/pretrained.js";
import { HfTokenizer } from "../tokenizer/hf.js";
import { gpt2Tokenizer, type Tokenizer } from "../tokenizer/index.js";

/** Bytes of one file received so far; `total` is null when the server sent no Content-Length. */
export interface LoadProgress {
  file: string;
  loaded: number;
  total: number | null;
}

export interface FetchModelOptions {
  /** Called as each file downloads: its name, bytes loaded and total (when the server sends it). */
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

/** GETs one file in full, reporting progress as chunks arrive; a NetworkError when the transport fails (no
 *  connection, a body cut short), a LoadError for an HTTP error. */
export async function fetchBytes(url: string, opts: FetchModelOptions = {}): Promise<Uint8Array> {
  const file = url.slice(url.lastIndexOf("/") + 1);
  let res: Response;
  try {
    res = await fetch(url, { signal: opts.signal });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new NetworkError(
      `${url}: cannot fetch (${(e as Error).message}${(e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : ""})`,
      { cause: e },
    );
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
  if (total !== null && loaded !== total)
    throw new NetworkError(`${url}: got ${loaded} bytes, Content-Length said ${total}`);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Like fetchBytes, but null when the server answers 404 (an optional file: tokenizer.json, a single-file checkpoint). */
async function fetchOptional(url: string, opts: FetchModelOptions): Promise<Uint8Array | null> {
  try {
    return await fetchBytes(url, opts);
  } catch (e) {
    if (e instanceof LoadError && /: HTTP 404\b/.test(e.message)) return null;
    throw e;
  }
}

function parseJson(bytes: Uint8Array, url: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new LoadError(`${url}: not valid JSON (${(e as Error).message})`);
  }
}

/** As the Node loader: NaN and ±Inf weights are refused, naming the tensor. */
const CHECKED = { checkFinite: true };

/** The weights as fetched: model.safetensors, else model.safetensors.index.json and each shard it lists. */
async function fetchSafetensors(base: string, opts: FetchModelOptions): Promise<ShardedSafetensors> {
  const inMemory = (file: string, bytes: Uint8Array, listed: ReadonlySet<string> | null): SafetensorsShard => ({
    file,
    size: bytes.length,
    listed,
    read: (at, n) => bytes.subarray(at, at + n),
  });
  const single = await fetchOptional(`${base}model.safetensors`, opts);
  if (single)
    return new ShardedSafetensors([inMemory(`${base}model.safetensors`, single, null)], "model.safetensors", CHECKED);
  const indexUrl = `${base}${SHARD_INDEX}`;
  const index = await fetchOptional(indexUrl, opts);
  if (!index) throw new LoadError(`${base}: neither model.safetensors nor ${SHARD_INDEX} is there (HTTP 404)`);
  const shards: SafetensorsShard[] = [];
  for (const [file, listed] of parseShardIndex(parseJson(index, indexUrl), indexUrl)) {
    shards.push(inMemory(`${base}${file}`, await fetchBytes(`${base}${file}`, opts), listed));
  }
  return new ShardedSafetensors(shards, SHARD_INDEX, CHECKED);
}

/**
 * GPT-2 folders: GPT-2's BPE for its vocabulary (no request, so a page sees no 404). Families: tokenizer.json
 * (+ tokenizer_config.json) when served; else GPT-2's BPE for its vocabulary; else null (token ids only).
 */
async function fetchTokenizer(
  base: string,
  cfg: HookedTransformerConfig,
  opts: FetchModelOptions,
): Promise<Tokenizer | null> {
  const url = `${base}tokenizer.json`;
  const json = cfg.originalArchitecture === "GPT2LMHeadModel" ? null : await fetchOptional(url, opts);
  if (!json) return cfg.dVocab === 50257 ? gpt2Tokenizer() : null;
  const configUrl = `${base}tokenizer_config.json`;
  const config = await fetchOptional(configUrl, opts);
  return new HfTokenizer(parseJson(json, url), {
    bosTokenId: cfg.bosTokenId,
    eosTokenId: cfg.eosTokenId,
    tokenizerConfig: config ? parseJson(config, configUrl) : undefined,
    source: url,
  });
}

/**
 * Reads a Hugging Face model from a base URL: config.json, the weights (model.safetensors or sharded; F32, F16 or
 * BF16) of GPT-2 or any family of src/loading/families, converted to TL's names by the Node loader's own code, and
 * the tokenizer (as the Node loader: tokenizer.json, else GPT-2's for GPT-2's vocabulary, else token ids only).
 * Family tensors are decoded one at a time from the fetched bytes, so the float32 copy is made once.
 */
export async function fetchPretrainedWeights(url: string, opts: FetchModelOptions = {}): Promise<PretrainedWeights> {
  const base = modelBaseUrl(url);
  const configUrl = `${base}config.json`;
  const hfConfig = parseJson(await fetchBytes(configUrl, opts), configUrl);
  const cfg = hfConfigToTL(hfConfig, configUrl);
  const extras = hfConfigExtras(hfConfig, configUrl);
  const source = await fetchSafetensors(base, opts);
  const weightsUrl = `${base}model.safetensors`;
  const weights =
    extras.architecture === "GPT2LMHeadModel"
      ? convertGpt2Weights(new Map([...source.keys()].map((k) => [k, source.get(k)!])), cfg, weightsUrl, {
          tieWordEmbeddings: extras.tieWordEmbeddings,
        })
      : convertFamilyWeights(source, cfg, hfConfig as Record<string, unknown>, weightsUrl);
  const tokenizer = await fetchTokenizer(base, cfg, opts);
  if (tokenizer) {
    cfg.bosTokenId ??= tokenizer.bosTokenId;
    cfg.eosTokenId ??= tokenizer.eosTokenId;
  }
  return { cfg, weights, tokenizer };
}
