// Concurrency: several tbuild builds on one store at once (the lock around index.json,
// atomic blob and cache-record renames, racing snapshot creation). 8 builds at a time,
// 5 rounds, some sharing steps and some not: every build succeeds, every tag points at an
// intact image, and `tbuild store check` finds nothing to repair.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeStore, startBuild, storeCheck, tb, writeContext } from "./crash-helpers.js";

const PARALLEL = 8;
const ROUNDS = 5;
let work: string;
let root: string;

beforeAll(async () => {
  ({ work, root } = await makeStore("concurrency"));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A Dockerfile with a step every build shares, then its own steps. */
function dockerfile(): string {
  return `FROM busybox:test
RUN echo shared > /shared
COPY a.txt /a.txt
RUN cat /a.txt /shared > /both
WORKDIR /app
`;
}

describe("concurrency: 8 builds at once on one store", () => {
  it(`${ROUNDS} rounds of ${PARALLEL} builds all succeed and the store checks clean`, async () => {
    const t0 = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      // Half the builds of a round are identical (they race for the same keys), half differ.
      const same = writeContext(work, `r${round}-same`, dockerfile());
      const contexts = Array.from({ length: PARALLEL }, (_, i) => (i % 2 === 0 ? same : writeContext(work, `r${round}-${i}`, dockerfile())));
      const runs = contexts.map((ctx, i) => startBuild(root, ctx, `conc:r${round}-${i}`).done);
      const results = await Promise.all(runs);
      results.forEach((r, i) => expect(r.code, `round ${round} build ${i}: ${r.stderr}`).toBe(0));
      const check = storeCheck(root);
      expect(check.report.problems, `after round ${round}`).toEqual([]);
      expect(check.code).toBe(0);
    }
    const images = tb(root, ["images", "--format", "json"]);
    expect(images.code).toBe(0);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PARALLEL; i++) expect(tb(root, ["inspect", `conc:r${round}-${i}`]).code).toBe(0);
    }
    const final = storeCheck(root);
    expect(final.report.tags).toBe(ROUNDS * PARALLEL + 1); // + busybox:test
    expect(Date.now() - t0).toBeLessThan(120_000);
  }, 180_000);
});
