// The timing loop shared by the two halves of `npm run bench -- browser` (Node's native run in bench/browser.ts and
// the page's runs in bench/browser-page.ts), so both sides measure the same way.

/** Median time (ms) of `run` over at least `minReps` runs and `minMs` of running (at most 50), after one warm-up run. */
export async function medianMs(run: () => Promise<unknown>, minReps: number, minMs: number): Promise<number> {
  await run();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || (performance.now() - start < minMs && times.length < 50)) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
