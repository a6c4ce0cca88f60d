// Renders build progress as BuildKit's `--progress plain`: one block per step
// (`#3 [2/5] COPY . /app`, output lines with their time, `#3 CACHED`, `#3 DONE 0.1s`),
// safe for logs and pipes. Also the default when stderr is not a terminal.
import type { BuildEvent, ProgressSink, StepInfo } from "../../build/index.js";
import type { OutStream } from "../io.js";

export interface ProgressRenderer {
  readonly sink: ProgressSink;
  /** Flush and stop (the tty renderer draws its last frame). Safe to call twice. */
  finish(ok: boolean): void;
}

const secs = (ms: number): string => (ms / 1000).toFixed(1);

export function plainRenderer(out: OutStream): ProgressRenderer {
  const steps = new Map<number, StepInfo>();
  const started = new Map<number, number>();
  /** A partial output line per step and stream. */
  const partial = new Map<string, string>();
  let exportId = 0;
  let exportStart = 0;
  const w = (s: string): void => {
    out.write(s);
  };
  const flushLine = (id: number, line: string): void => {
    const t0 = started.get(id) ?? Date.now();
    w(`#${id} ${secs(Date.now() - t0).padStart(5)} ${line}\n`);
  };
  const sink = (e: BuildEvent): void => {
    switch (e.type) {
      case "plan":
        for (const s of e.steps) steps.set(s.id, s);
        exportId = e.steps.length + 1;
        break;
      case "step-start":
        started.set(e.id, e.time);
        w(`#${e.id} ${steps.get(e.id)?.name ?? ""}\n`);
        break;
      case "step-cached":
        w(`#${e.id} CACHED\n\n`);
        break;
      case "step-explain":
        w(`#${e.id} cache miss: ${e.message}\n`);
        break;
      case "step-log": {
        const k = `${e.id}/${e.stream}`;
        const text = (partial.get(k) ?? "") + e.data;
        const lines = text.split("\n");
        partial.set(k, lines.pop()!);
        for (const l of lines) flushLine(e.id, l);
        break;
      }
      case "step-done":
        for (const [k, v] of partial) {
          if (!k.startsWith(`${e.id}/`)) continue;
          if (v !== "") flushLine(e.id, v);
          partial.delete(k);
        }
        if (!e.cached || steps.get(e.id)?.name.includes(" FROM ")) w(`#${e.id} DONE ${secs(e.durationMs)}s\n\n`);
        break;
      case "step-error":
        for (const [k, v] of partial) if (k.startsWith(`${e.id}/`) && v !== "") flushLine(e.id, v);
        w(`#${e.id} ERROR: ${e.message}\n\n`);
        break;
      case "warning":
        w(`WARNING: ${e.file ? `${e.file}:${e.line ?? 0}: ` : ""}${e.message}\n`);
        break;
      case "export":
        if (exportStart === 0) {
          exportStart = e.time;
          w(`#${exportId} exporting to image\n`);
        }
        if (e.phase === "config") w(`#${exportId} writing image ${e.detail} done\n`);
        else if (e.phase === "naming") w(`#${exportId} naming to ${e.detail} done\n`);
        break;
      case "done":
        if (exportStart === 0) w(`#${exportId} exporting to image\n#${exportId} writing image ${e.imageId} done\n`);
        w(`#${exportId} DONE ${secs(e.time - (exportStart || e.time))}s\n`);
        break;
    }
  };
  return { sink, finish: () => undefined };
}
