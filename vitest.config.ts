import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // bundles the viewers' browser modules (src/viz/viewer/bundle.js) so the suite runs from source
    globalSetup: ["test/setup/viewer.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
