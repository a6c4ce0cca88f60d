// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle/, which the package's bin
// runs: loading ~100 ES modules one by one cost every command ~40 ms of start-up (Node 20
// has no compile cache). ESM code splitting keeps each `await import()` lazy: a command
// loads only the chunks it reaches. The worker threads' scripts are entries too, written
// flat beside the chunks under their dist/src names, so workerScriptUrl (a sibling of the
// calling module) finds them in either layout. dist/src stays for the unit tests.
import { rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist/bundle", { recursive: true, force: true }); // no stale chunks from an earlier build
await build({
  entryPoints: {
    tbuild: "dist/src/cli/main.js",
    "range-copy-worker": "dist/src/store/range-copy-worker.js",
    "download-worker": "dist/src/registry/download-worker.js",
  },
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunk-[hash]",
  // tar-stream and its dependencies are CommonJS and require() node builtins, which an
  // ES module has no `require` for; esbuild's shim uses this one when it is in scope.
  banner: { js: 'import { createRequire as __tbuildCreateRequire } from "node:module";\nconst require = __tbuildCreateRequire(import.meta.url);' },
  logLevel: "warning",
});
