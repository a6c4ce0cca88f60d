// Renders build progress as JSON lines (`--progress json`): each BuildEvent as one object
// per line, exactly the shape of src/build/progress.ts (documented in the README).
import type { BuildEvent } from "../../build/index.js";
import type { OutStream } from "../io.js";
import type { ProgressRenderer } from "./progress-plain.js";

export function jsonRenderer(out: OutStream): ProgressRenderer {
  return {
    sink: (e: BuildEvent) => {
      out.write(`${JSON.stringify(e)}\n`);
    },
    finish: () => undefined,
  };
}
