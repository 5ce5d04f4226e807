// Browser stand-in for src/backend/native.ts (substituted by scripts/build-browser.mjs): a page has no N-API addon.
import type * as Native from "../../backend/native.js";

export const loadNativeBackend: typeof Native.loadNativeBackend = () => null;
