// The fallback sandbox when no OCI runtime is installed: util-linux `unshare` gives new
// mount, PID, UTS, IPC (and network) namespaces; a host shell script mounts /proc, a
// minimal /dev, /sys and /etc/hosts|resolv.conf, then `unshare --root --wd -G -S` chroots,
// changes directory and drops to the user, under `env -i` with the image's environment.
import { spawn } from "node:child_process";
import { TbuildError } from "../../util/index.js";
import { signalNumber } from "./oci.js";
import type { RunRequest, Runtime } from "./runtime.js";

/** Runs inside the new namespaces, on the host's binaries; $1.. are fixed positional args. */
const SETUP = `set -eu
R=$1 HN=$2 HOSTS=$3 RESOLV=$4 NET=$5 NM=$6; shift 6
# A mount point inside R: refused when any component is a symlink, so a mount never follows
# the image's links out of R. Returns 1 for a symlink, else creates the stub if missing.
stub() {
  p=$R; rest=$1
  while [ -n "$rest" ]; do
    c=\${rest%%/*}; [ "$c" = "$rest" ] && rest= || rest=\${rest#*/}
    p=$p/$c; [ -L "$p" ] && return 1
  done
  if [ "$2" = dir ]; then mkdir -p "$R/$1"; else mkdir -p "$(dirname "$R/$1")"; [ -e "$R/$1" ] || : > "$R/$1"; fi
}
must() { stub "$1" dir || { echo "tbuild: /$1 is a symlink in the image" >&2; exit 125; }; }
must proc; mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
must dev; mount -t tmpfs -o nosuid,strictatime,mode=755,size=65536k tmpfs "$R/dev"
for d in null zero full random urandom tty; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o nosuid,noexec,newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm "$R/dev/shm"
ln -s pts/ptmx "$R/dev/ptmx"; ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
must sys; mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
# An image whose /etc/hosts or /etc/resolv.conf is a symlink keeps its own file.
if stub etc/hosts file; then mount --bind "$HOSTS" "$R/etc/hosts"; mount -o remount,bind,ro "$R/etc/hosts"; fi
if stub etc/resolv.conf file; then mount --bind "$RESOLV" "$R/etc/resolv.conf"; mount -o remount,bind,ro "$R/etc/resolv.conf"; fi
# RUN --mount: NM groups of (type, source, target without leading /, ro 0|1, options).
while [ "$NM" -gt 0 ]; do
  T=$1 SRC=$2 DST=$3 RO=$4 OPT=$5; shift 5; NM=$((NM - 1))
  if [ "$T" = tmpfs ]; then
    must "$DST"; mount -t tmpfs -o "nosuid,nodev\${OPT:+,$OPT}" tmpfs "$R/$DST"
  else
    if [ -d "$SRC" ]; then must "$DST"; else stub "$DST" file || { echo "tbuild: /$DST is a symlink in the image" >&2; exit 125; }; fi
    mount --bind "$SRC" "$R/$DST"
    [ "$RO" = 1 ] && F=ro || F=rw
    mount -o "remount,bind,$F\${OPT:+,$OPT}" "$R/$DST"
  fi
done
[ "$NET" = none ] && ip link set lo up 2>/dev/null || true
hostname "$HN"
exec "$@"
`;

export interface UnshareRuntimeOptions {
  /** The unshare binary (default `unshare` on PATH). */
  readonly binary?: string;
}

/**
 * The unshare fallback. Differences from an OCI runtime, documented: no capability
 * dropping beyond what the user switch gives (a root RUN keeps all capabilities), no
 * masked /proc paths and no no-new-privileges; supplementary groups are only supported
 * with cwd `/` (unshare's --setgid clears them, so we use coreutils chroot there instead).
 * RUN --mount binds and tmpfs are mounted by the setup script (targets behind an image
 * symlink are refused, as for /proc).
 * `/dev` gets the six standard devices bound from the host.
 */
export class UnshareRuntime implements Runtime {
  readonly name = "unshare" as const;
  private readonly binary: string;

  constructor(opts: UnshareRuntimeOptions = {}) {
    this.binary = opts.binary ?? "unshare";
  }

  async run(req: RunRequest): Promise<number> {
    req.signal?.throwIfAborted();
    const groups = req.user.additionalGids ?? [];
    let enter: string[];
    if (groups.length === 0) {
      enter = [this.binary, `--root=${req.rootfs}`, `--wd=${req.cwd}`, "--setgid", String(req.user.gid), "--setuid", String(req.user.uid), "--"];
    } else if (req.cwd === "/") {
      enter = ["chroot", `--userspec=${req.user.uid}:${req.user.gid}`, `--groups=${groups.join(",")}`, req.rootfs];
    } else {
      throw new TbuildError("E_EXEC_RUNTIME", "unshare runtime: supplementary groups with a WORKDIR other than / need crun or runc", { hint: "install crun or runc" });
    }
    const nsFlags = ["--mount", "--pid", "--fork", "--kill-child", "--uts", "--ipc", "--propagation", "private", ...(req.network === "none" ? ["--net"] : [])];
    const args = [...nsFlags, "--", "/bin/sh", "-c", SETUP, "tbuild-run", req.rootfs, req.hostname, req.hostsPath, req.resolvConfPath, req.network, ...mountArgs(req), "env", "-i", ...req.env, ...enter, ...req.argv];
    return new Promise<number>((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" } });
      child.stdout.on("data", (d: Buffer) => req.stdout?.write(d));
      child.stderr.on("data", (d: Buffer) => req.stderr?.write(d));
      const onAbort = (): void => void child.kill("SIGKILL"); // --kill-child takes the namespace down
      req.signal?.addEventListener("abort", onAbort, { once: true });
      child.on("error", (e) => reject(new TbuildError("E_EXEC_RUNTIME", `unshare: cannot start ${this.binary}: ${e.message}`, { cause: e })));
      child.on("close", (code, sig) => {
        req.signal?.removeEventListener("abort", onAbort);
        if (req.signal?.aborted) reject(new TbuildError("E_INTERRUPTED", "RUN interrupted (unshare sandbox killed)"));
        else if (code === 125) reject(new TbuildError("E_EXEC_RUNTIME", "unshare: the sandbox could not be set up (see the output above)"));
        else resolve(code ?? 128 + signalNumber(sig));
      });
    });
  }
}

/** RUN --mount as the setup script's positional arguments: a count, then 5 fields per mount. */
function mountArgs(req: RunRequest): string[] {
  const ms = req.mounts ?? [];
  const out = [String(ms.length)];
  for (const m of ms) {
    const target = m.target.replace(/^\/+/, "");
    if (target === "" || target.split("/").includes("..")) throw new TbuildError("E_EXEC_RUNTIME", `unshare runtime: invalid mount target ${JSON.stringify(m.target)}`);
    out.push(m.type, m.source ?? "", target, m.readonly ? "1" : "0", (m.options ?? []).join(","));
  }
  return out;
}
