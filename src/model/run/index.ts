// The model-execution API (see runner.ts) and the per-run context.
export { RunContext } from "./context.js";
export {
  KeyValuePrefix,
  runBlocks,
  blockHasSharedHooks,
  runBlockFromZ,
  runBlockFromAttention,
  attentionOutput,
  headsOutput,
  headsZ,
  logitsFromResidual,
  finalNorm,
  unembed,
  ln1,
  mlpOutput,
  tileBatch,
  type BlockRunOptions,
  type HeadsAttentionInput,
  type RunnerHooks,
} from "./runner.js";
