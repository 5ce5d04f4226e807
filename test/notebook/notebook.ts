// The notebook the tslab test executes: a forward's top token (printed), a figure and an attention viewer shown
// with viz.display(…, tslab.display) — each of those two cells must show the figure and nothing else.
export const PROMPT = "When Mary and John went to the store, John gave a drink to";

const CELLS = [
  `import { HookedTransformer, viz } from "tlens";\nimport * as tslab from "tslab";`,
  `const model = await HookedTransformer.fromPretrained("toy-ioi");\n` +
    `const prompt = ${JSON.stringify(PROMPT)};\n` +
    `const logits = await model.forward(prompt); // [batch, pos, d_vocab]\n` +
    `const top = model.toString([logits.get(0, logits.shape[1] - 1).argmax().item()]);\n` +
    `console.log("top token: " + JSON.stringify(top));`,
  `viz.display(viz.line([3, 1, 2], { title: "a line" }), tslab.display);`,
  `const [, cache] = await model.runWithCache(prompt);\n` +
    `viz.display(viz.attentionPatterns({ tokens: model.toStrTokens(prompt), attention: cache.get("pattern", 0) }), tslab.display);`,
];

/** The notebook as nbformat 4 JSON, for tslab's kernel. */
export function notebookJson(): string {
  return JSON.stringify(
    {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
      cells: CELLS.map((source, i) => ({
        id: `cell-${i}`,
        cell_type: "code",
        metadata: {},
        execution_count: null,
        outputs: [],
        source,
      })),
    },
    null,
    1,
  );
}

/** One output of an executed cell (nbformat 4). */
export interface CellOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error";
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

export const joined = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join("") : (s ?? ""));
