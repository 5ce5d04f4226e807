// The hub's environment variables, read as huggingface_hub reads them: offline mode, endpoint, cache folder.

/** An environment variable, undefined when unset or blank (and in a browser). */
export function env(name: string): string | undefined {
  const v = typeof process !== "undefined" ? process.env?.[name] : undefined;
  return v === undefined || v.trim() === "" ? undefined : v;
}

const isTrue = (v: string | undefined): boolean =>
  v !== undefined && ["1", "on", "yes", "true"].includes(v.trim().toLowerCase());

/** Offline mode: `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) set to 1/true/yes/on, as huggingface_hub reads it. */
export function hubOffline(): boolean {
  return isTrue(env("HF_HUB_OFFLINE")) || isTrue(env("TRANSFORMERS_OFFLINE"));
}

/** The hub's base URL: `HF_ENDPOINT`, default https://huggingface.co (no trailing slash). */
export function hubEndpoint(): string {
  return (env("HF_ENDPOINT") ?? "https://huggingface.co").trim().replace(/\/+$/, "");
}

/** The cache folder: `HF_HUB_CACHE` (or the older `HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`, where HF_HOME
 *  defaults to `$XDG_CACHE_HOME/huggingface` and that to `~/.cache/huggingface` — as huggingface_hub decides it. */
export async function hubCacheDir(): Promise<string> {
  const path = await import("node:path");
  const os = await import("node:os");
  const expand = (p: string): string =>
    p === "~" || p.startsWith("~/") || p.startsWith("~\\") ? path.join(os.homedir(), p.slice(1)) : p;
  const hubCache = env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE");
  if (hubCache !== undefined) return path.resolve(expand(hubCache));
  const home = env("HF_HOME") ?? path.join(env("XDG_CACHE_HOME") ?? path.join(os.homedir(), ".cache"), "huggingface");
  return path.resolve(expand(home), "hub");
}
