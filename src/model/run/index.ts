// The model-execution API (see runner.ts) and the per-run context.
export { RunContext } from "./context.js";
export {
  KeyValuePrefix, runBlocks, blockHasSharedHooks, runBlockFromZ, logitsFromResidual, finalNorm, unembed, ln1, mlpOutput, tileBatch,
  type BlockRunOptions, type RunnerHooks,
} from "./runner.js";
