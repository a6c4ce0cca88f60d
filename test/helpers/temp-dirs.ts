// Temporary directories of one test file, removed when its tests are done (pass or fail).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A maker of temporary directories (`tbuild-<name>-…` under the system temp folder), each
 * removed after the calling scope's tests. Call it at the top level of a test file or of a
 * describe block: it registers that scope's afterAll.
 */
export function tempDirs(): (name: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  return (name) => {
    const d = mkdtempSync(join(tmpdir(), `tbuild-${name}-`));
    made.push(d);
    return d;
  };
}
