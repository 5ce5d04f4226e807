// Browser stand-in for src/loading/safetensors-file.ts (substituted by scripts/build-browser.mjs): a page has no file
// system; fetch the bytes and call readSafetensors(bytes, name).
import type * as SafetensorsFile from "../../loading/safetensors-file.js";
import { LoadError } from "../../errors.js";

export const readSafetensorsFile: typeof SafetensorsFile.readSafetensorsFile = (path) =>
  Promise.reject(
    new LoadError(
      `${path}: reading files is Node-only; in the browser, fetch the bytes and call readSafetensors(bytes, name)`,
    ),
  );
