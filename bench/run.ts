// `npm run bench -- <name> [args]`: runs one benchmark module (bench/<name>.ts exports main(args)).
// Benchmarks print ratios against a reference measured in the same run, and end with a `RESULT {json}` line.
const BENCHES = [
  "gemm",
  "ops",
  "forward",
  "patching",
  "browser",
  "load",
  "sweep",
  "backward",
  "attribution",
  "families",
  "sae",
  "generate",
  "bf16",
] as const;

const [name, ...args] = process.argv.slice(2);
if (!name || !(BENCHES as readonly string[]).includes(name)) {
  console.error(`usage: npm run bench -- <${BENCHES.join("|")}> [args]`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { main: (args: string[]) => Promise<void> };
await mod.main(args);
