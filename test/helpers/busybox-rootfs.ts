// A busybox root file system built from the host's statically linked /bin/busybox, so RUN
// tests have a base image without any download: applet symlinks in /bin, /etc/passwd with
// root, nobody and app (1000), /etc/group, /tmp (1777), empty /proc /dev /sys /root /home/app.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p)) ?? "/bin/busybox";

/** Build the rootfs into `dir` (created if missing). Returns `dir`. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  if (!existsSync(BUSYBOX)) throw new Error(`busybox-static is required (run test/setup/install-tools.sh): ${BUSYBOX} missing`);
  for (const d of ["bin", "etc", "proc", "dev", "sys", "root", "home/app", "var", "usr/bin"]) await mkdir(join(dir, d), { recursive: true });
  await copyFile(BUSYBOX, join(dir, "bin/busybox"));
  await chmod(join(dir, "bin/busybox"), 0o755);
  const applets = execFileSync(BUSYBOX, ["--list"]).toString().split("\n").filter((a) => a && a !== "busybox" && !a.includes("/"));
  for (const a of applets) await symlink("busybox", join(dir, "bin", a));
  await writeFile(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await writeFile(join(dir, "etc/group"), "root:x:0:\napp:x:1000:\nusers:x:100:app\nnogroup:x:65534:\n");
  await mkdir(join(dir, "tmp"));
  await chmod(join(dir, "tmp"), 0o1777);
  await chmod(join(dir, "root"), 0o700);
  await chown(join(dir, "home/app"), 1000, 1000);
  return dir;
}

/** The same rootfs as a tar file at `file` (GNU tar, numeric owners). */
export async function makeBusyboxTar(scratch: string, file: string): Promise<string> {
  const root = await makeBusyboxRootfs(join(scratch, "busybox-rootfs"));
  execFileSync("tar", ["--numeric-owner", "--sort=name", "-C", root, "-cf", file, "."]);
  return file;
}
