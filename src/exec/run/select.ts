// Picks the RUN sandbox: crun, then runc, then unshare (DESIGN.md "Running RUN"); the
// `--runtime` flag overrides the choice.
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { TbuildError } from "../../util/index.js";
import { CrunRuntime } from "./crun.js";
import { RuncRuntime } from "./runc.js";
import type { Runtime, RuntimeName } from "./runtime.js";
import { UnshareRuntime } from "./unshare.js";

/** Find `name` on `searchPath` (a PATH string); undefined when absent. */
export function findExecutable(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(":")) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * The runtime for `choice` (`auto`: the first of crun, runc, unshare installed). Throws
 * E_EXEC_RUNTIME naming what to install when the requested one is missing.
 */
export function selectRuntime(choice: RuntimeName | "auto" = "auto", searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"): Runtime {
  const order: RuntimeName[] = choice === "auto" ? ["crun", "runc", "unshare"] : [choice];
  for (const name of order) {
    const binary = findExecutable(name, searchPath);
    if (!binary) continue;
    switch (name) {
      case "crun":
        return new CrunRuntime({ binary });
      case "runc":
        return new RuncRuntime({ binary });
      case "unshare":
        return new UnshareRuntime({ binary });
    }
  }
  throw new TbuildError("E_EXEC_RUNTIME", choice === "auto" ? "no sandbox runtime found (crun, runc or unshare)" : `runtime ${choice} is not installed`, {
    hint: "install crun (apt-get install crun) or util-linux",
  });
}
