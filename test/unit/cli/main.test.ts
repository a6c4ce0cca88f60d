import { describe, expect, it } from "vitest";
import { runCli as run } from "../../helpers/cli.js";

describe("cli main", () => {
  it("prints the version", async () => {
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^tbuild \d+\.\d+\.\d+\n$/);
  });
  it("shows help with --help and exits 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Usage: tbuild");
  });
  it("rejects an unknown command with exit 2 and a suggestion", async () => {
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("E_USAGE: unknown command: frobnicate");
  });
});
