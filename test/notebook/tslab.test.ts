// Notebooks: `require("tlens")` from a project that depends on it (tslab compiles imports to require), the types
// for a CommonJS consumer, and a small notebook executed by Jupyter's nbconvert in a REAL tslab kernel (tslab from
// devDependencies, registered in a temporary JUPYTER_PATH; Debian's jupyter packages, installed by scripts/test-tools.mjs). The
// executed notebook must print the forward's top token and show the figure and the viewer, each alone in its cell.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer } from "../../src/index.js";
import { joined, notebookJson, PROMPT, type CellOutput } from "./notebook.js";
import { jupyterPython } from "../../scripts/test-tools.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tlens-notebook-"));

beforeAll(() => {
  // the package entry is the build (npm ci's prepare makes it)
  expect(existsSync(join(ROOT, "dist/index.js")), "dist/index.js: run npm run build").toBe(true);
  // a project that depends on tlens (and has tslab, whose module the notebook imports)
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "tlens"), "dir");
  symlinkSync(join(ROOT, "node_modules", "tslab"), join(dir, "node_modules", "tslab"), "dir");
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "notebook-project", private: true, dependencies: { tlens: "*" } }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the package from CommonJS", () => {
  it('require("tlens") loads the API synchronously', () => {
    const out = execFileSync(
      process.execPath,
      ["-e", "const t = require('tlens'); console.log(typeof t.HookedTransformer, typeof t.viz.display)"],
      { cwd: dir, encoding: "utf8" },
    );
    expect(out.trim()).toBe("function function");
  });

  it("a .cts file that requires tlens typechecks against the package's types", () => {
    writeFileSync(
      join(dir, "check.cts"),
      `import tlens = require("tlens");\nconst m: Promise<tlens.HookedTransformer> = tlens.HookedTransformer.fromPretrained("toy-ioi");\nvoid m;\n`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ["check.cts"],
      }),
    );
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], {
      encoding: "utf8",
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 60_000);
});

describe("a notebook in a real tslab kernel", () => {
  it("runs: the top token printed, the figure and the viewer shown with nothing else in their cells", async () => {
    const jupyter = join(dir, "jupyter");
    const install = spawnSync(
      join(ROOT, "node_modules/.bin/tslab"),
      [
        "install",
        `--python=${jupyterPython()}`,
        `--prefix=${jupyter}`,
        `--binary=${join(ROOT, "node_modules/.bin/tslab")}`,
      ],
      { encoding: "utf8" },
    );
    expect(install.status, install.stderr).toBe(0);
    expect(existsSync(join(jupyter, "share/jupyter/kernels/tslab/kernel.json"))).toBe(true);
    writeFileSync(join(dir, "notebook.ipynb"), notebookJson());
    const env = {
      ...process.env,
      JUPYTER_PATH: join(jupyter, "share/jupyter"),
      JUPYTER_DATA_DIR: join(dir, "data"),
      JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
    };
    const run = spawnSync(
      "jupyter",
      [
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "notebook.ipynb",
        "--output",
        "executed.ipynb",
        "--ExecutePreprocessor.kernel_name=tslab",
        "--ExecutePreprocessor.timeout=300",
      ],
      { cwd: dir, env, encoding: "utf8", timeout: 400_000 },
    );
    expect(
      run.error,
      "jupyter nbconvert (Debian: apt-get install jupyter-nbconvert python3-ipykernel)",
    ).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    const cells = (
      JSON.parse(readFileSync(join(dir, "executed.ipynb"), "utf8")) as { cells: { outputs: CellOutput[] }[] }
    ).cells;
    const [imports, forward, figure, viewer] = cells.map((c) => c.outputs);
    expect(imports).toEqual([]);

    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const logits = await model.forward(PROMPT);
    const top = model.toString([
      logits
        .get(0, logits.shape[1]! - 1)
        .argmax()
        .item(),
    ]);
    expect(forward!.map((o) => o.output_type)).toEqual(["stream"]);
    expect(joined(forward![0]!.text)).toBe(`top token: ${JSON.stringify(top)}\n`);

    for (const [cell, marker] of [
      [figure, "tlens-figure"],
      [viewer, "tlensViz"],
    ] as const) {
      expect(
        cell!.map((o) => `${o.output_type}${o.text ? `: ${joined(o.text).slice(0, 60)}` : ""}`),
        marker,
      ).toEqual(["display_data"]);
      expect(Object.keys(cell![0]!.data ?? {})).toEqual(["text/html"]);
      expect(joined(cell![0]!.data!["text/html"])).toContain(marker);
    }
    expect(joined(figure![0]!.data!["text/html"])).toContain("a line");
  }, 420_000);
});
