import { defineConfig } from "vitest/config";

// Unit tests are pure and run in parallel; integration tests build real images and share
// fixtures made once per run in test/setup/global.ts (tools installed, base image built).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/global.ts"],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
