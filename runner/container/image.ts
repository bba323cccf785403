import type { ConfigProblem } from "../errors/problem.ts";
import type { ContainerRuntime } from "../protocol/job-spec.ts";
import { imageInspectArgs } from "./command.ts";

/** Checks the runtime answers and the image is present locally; a problem naming `field` if not. */
export async function checkImage(runtime: ContainerRuntime, image: string, field = "image"): Promise<ConfigProblem | undefined> {
  let proc;
  try {
    proc = Bun.spawn(imageInspectArgs(runtime, image), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  } catch {
    return { severity: "error", field: "runtime", message: `container runtime "${runtime}" was not found on PATH`, allowed: "docker, nerdctl or podman, installed", suggestion: "install it or pick another with --runtime" };
  }
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code === 0) return undefined;
  const reason = stderr.trim().split("\n").pop() ?? "";
  if (!/no such image|not found|does not exist/i.test(reason) && /cannot connect|is the .* daemon running|permission denied/i.test(reason)) {
    return { severity: "error", field: "runtime", message: `${runtime} is not reachable: ${reason}`, suggestion: `start the ${runtime} daemon` };
  }
  return {
    severity: "error",
    field,
    message: `image "${image}" is not present (${runtime} image inspect found nothing)`,
    allowed: "an image available locally",
    suggestion: image.startsWith("reactorcide/runner") ? "build it with `npm run image`" : `build or load it first (e.g. ${runtime} load)`,
  };
}
