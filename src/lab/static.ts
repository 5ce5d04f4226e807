// The page's own files, served from the app's root only. A request path is decoded once and then must be a list of
// plain file names (letters, digits, `_`, `-`, dots inside a name) ending in `.js`: `..`, `.`, empty segments,
// backslashes, NUL, encoded slashes (`%2f`, `%5c`) and anything that still looks encoded are refused (null → 404),
// and the resolved file (symlinks followed) must lie inside the root.
//
// The app is TypeScript (src/lab/app/*.ts). After `npm run build` tsc has written dist/lab/app/*.js beside this
// module's compiled twin; run from source (tsx, vitest) there is only the .ts, which is transpiled on request with the
// typescript package (a dev dependency, present wherever the sources are).
import { existsSync, realpathSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { LabError } from "./validate.js";

/** src/lab/app or dist/lab/app: the folder beside this module. */
export const APP_ROOT = fileURLToPath(new URL("./app/", import.meta.url));

const SEGMENT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * The file a request path names under `root`, or null when the path is not a plain relative path to a `.js` file
 * inside root. `relPath` is the raw path after the route's prefix (still percent-encoded, no query).
 */
export function resolveAppPath(root: string, relPath: string): string | null {
  if (/%(2f|5c|00)/i.test(relPath) || relPath.includes("\\") || relPath.includes("\0")) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(relPath);
  } catch {
    return null;
  }
  if (decoded.includes("%") || decoded.includes("\\") || decoded.includes("\0")) return null;
  const segments = decoded.split("/");
  if (!segments.every((s) => SEGMENT.test(s)) || !decoded.endsWith(".js")) return null;
  const base = root.endsWith(sep) ? root : root + sep;
  const file = join(base, ...segments);
  return file.startsWith(base) ? file : null;
}

/** `file` when it exists inside root once symlinks are resolved. */
function inside(root: string, file: string): boolean {
  try {
    const real = realpathSync(file);
    const realRoot = realpathSync(root);
    return real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep) && statSync(real).isFile();
  } catch {
    return false;
  }
}

const transpiled = new Map<string, { mtimeMs: number; js: string }>();

async function transpile(tsFile: string): Promise<string> {
  const mtimeMs = statSync(tsFile).mtimeMs;
  const hit = transpiled.get(tsFile);
  if (hit && hit.mtimeMs === mtimeMs) return hit.js;
  const ts = (await import("typescript")).default;
  const out = ts.transpileModule(await readFile(tsFile, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    fileName: tsFile,
  });
  transpiled.set(tsFile, { mtimeMs, js: out.outputText });
  return out.outputText;
}

/** The JavaScript source of an app module (compiled, or transpiled from its .ts), or null when there is none. */
export async function readAppModule(root: string, relPath: string): Promise<string | null> {
  const file = resolveAppPath(root, relPath);
  if (!file) return null;
  if (existsSync(file)) return inside(root, file) ? readFile(file, "utf8") : null;
  const tsFile = file.replace(/\.js$/, ".ts");
  return inside(root, tsFile) && !tsFile.endsWith(".d.ts") ? transpile(tsFile) : null;
}

/**
 * Fixed files under fixed routes, for the in-browser mode (the browser bundle, the model's files): `prefix + name` for
 * each of `names` that is a file in `dir` (a plain file name, as for the app's modules). The files are chosen here,
 * when the server starts, not by requests: a request path must equal a route exactly — no decoding, no normalising —
 * so no spelling of a path reaches anything else. Symlinks are resolved once (a Hugging Face cache links its files to
 * blobs), to the file the server was pointed at.
 */
export function fixedRoutes(prefix: string, dir: string, names: readonly string[]): Map<string, string> {
  const routes = new Map<string, string>();
  for (const name of names) {
    if (!SEGMENT.test(name)) throw new LabError(500, `not a plain file name: ${JSON.stringify(name)}`);
    try {
      const real = realpathSync(join(dir, name));
      if (statSync(real).isFile()) routes.set(`${prefix}${name}`, real);
    } catch {
      // absent: no route
    }
  }
  return routes;
}
