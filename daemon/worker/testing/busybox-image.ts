import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A tiny local image (static busybox, user 1001 "runner", workdir /job) for runtime tests that
 * need a shell but not the runner. Built from the host's busybox-static; nothing is pulled. Its
 * `reactorcide-runner` is a stand-in of a few lines: it exports the job env (the file
 * REACTORCIDE_JOB_ENV names, or its inline lines as on Kubernetes) and runs
 * its --job-command or $REACTORCIDE_JOB_COMMAND, so the worker's lifecycle can be tested apart from the real runner.
 */
export const BUSYBOX_IMAGE = "reactorcide/worker-test-busybox:5";

const STAND_IN_RUNNER = `#!/bin/sh
if [ -f "\${REACTORCIDE_JOB_ENV:-/job/job.env}" ]; then lines=$(cat "\${REACTORCIDE_JOB_ENV:-/job/job.env}"); else lines=$REACTORCIDE_JOB_ENV; fi
unset REACTORCIDE_JOB_ENV
while IFS= read -r line; do
  [ -n "$line" ] || continue
  v=\${line#*=}; v=\${v#\\"}; v=\${v%\\"}
  export "\${line%%=*}=$v"
done <<EOF
$lines
EOF
[ "$2" = --job-command ] && REACTORCIDE_JOB_COMMAND=$3
cd /job && exec sh -c "$REACTORCIDE_JOB_COMMAND"
`;

let built: Promise<string> | undefined;

export function ensureBusyboxImage(): Promise<string> {
  built ??= (async () => {
    const have = Bun.spawnSync(["docker", "image", "inspect", BUSYBOX_IMAGE], { stdout: "ignore", stderr: "ignore" });
    if (have.exitCode === 0) return BUSYBOX_IMAGE;
    const dir = await mkdtemp(join(tmpdir(), "reactorcide-busybox-"));
    try {
      await cp("/bin/busybox", join(dir, "busybox"));
      await writeFile(join(dir, "reactorcide-runner"), STAND_IN_RUNNER, { mode: 0o755 });
      await writeFile(
        join(dir, "Dockerfile"),
        [
          "FROM scratch",
          "COPY busybox /bin/busybox",
          'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
          "COPY reactorcide-runner /bin/reactorcide-runner",
          "RUN mkdir -p /etc /tmp /job && chmod 1777 /tmp && " +
            "printf 'root:x:0:0:root:/root:/bin/sh\\nrunner:x:1001:1001:runner:/job:/bin/sh\\n' > /etc/passwd && " +
            "printf 'root:x:0:\\nrunner:x:1001:\\n' > /etc/group",
          "USER 1001",
          "WORKDIR /job",
          "",
        ].join("\n"),
      );
      const proc = Bun.spawn(["docker", "build", "--quiet", "--tag", BUSYBOX_IMAGE, dir], { stdout: "pipe", stderr: "pipe" });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      if (code !== 0) throw new Error(`building ${BUSYBOX_IMAGE} failed: ${stderr}`);
      return BUSYBOX_IMAGE;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return built;
}
