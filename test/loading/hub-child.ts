// A child process for the two-process cache tests: downloads the repo argv[2] from the hub at argv[3] into the
// cache argv[4] and prints the snapshot folder (or the error's name and message) as one JSON line.
import { downloadModel } from "../../src/loading/index.js";

const [repo, endpoint, cacheDir] = process.argv.slice(2) as [string, string, string];
try {
  const dir = await downloadModel(repo, {
    endpoint,
    cacheDir,
    offline: false,
    token: null,
    progressBar: false,
    retries: 0,
  });
  process.stdout.write(`${JSON.stringify({ dir })}\n`);
} catch (e) {
  process.stdout.write(
    `${JSON.stringify({ error: `${(e as Error).name}: ${(e as Error).message}`, stack: (e as Error).stack })}\n`,
  );
  process.exitCode = 1;
}
