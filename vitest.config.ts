import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // bundles the viewers' browser modules (src/viz/viewer/bundle.js) so the suite runs from source
    globalSetup: ["test/setup/viewer.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      // code that runs only inside a page or a browser worker (its tests drive it in Chromium, where v8 coverage
      // of the test process cannot see it)
      exclude: ["src/browser/**", "src/lab/app/**", "src/viz/viewer/**", "src/**/*.d.ts"],
      reporter: ["text-summary", "json-summary"],
      reportsDirectory: "coverage",
    },
  },
});
