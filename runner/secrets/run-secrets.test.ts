/**
 * Secret sources and the registration socket as a user of the compiled runner sees them: what
 * `run` / `run-job` print with each setting, and that a secrets file's values stay off command
 * lines while the job runs.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli, spawnCli } from "../testing/cli.ts";
import { useScratchDir } from "../testing/scratch.ts";

const { dir, freshWorkspace } = useScratchDir("reactorcide-run-secrets");
let binary = "";
beforeAll(async () => {
  binary = await ensureRunnerBinary();
}, 120_000);
const both = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;

/** Waits until `path` exists (the job's signal that it is running). */
async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 1000 && !existsSync(path); i++) await Bun.sleep(10);
  if (!existsSync(path)) throw new Error(`${path} never appeared`);
}

/** Every process's command line on this machine, as `ps` would show it. */
function allCommandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch {
      // the process ended meanwhile
    }
  }
  return lines;
}

const ENV = "TOKEN=token-value-123\nREACTORCIDE_MODE=visible-setting";
const PRINT = 'echo "token=$TOKEN mode=$REACTORCIDE_MODE"';

describe("which values are masked", () => {
  test("by default every job variable not named REACTORCIDE_* is masked", async () => {
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--job-env", ENV, "--job-command", PRINT]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("token=*** mode=visible-setting\n");
    expect(both(r)).not.toContain("token-value-123");
  });

  test("--secret-env-names replaces the default: only the named variables are masked", async () => {
    const env = `${ENV}\nOTHER=other-value-456`;
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--job-env", env, "--secret-env-names", "OTHER", "--job-command", `${PRINT}; echo "other=$OTHER"`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("token=token-value-123 mode=visible-setting\nother=***\n");
  });

  test("a name not in the job environment is a warning naming the setting", async () => {
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--job-env", ENV, "--secret-env-names", "TOKEN,NOT_THERE", "--job-command", PRINT]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("token=*** mode=visible-setting\n");
    expect(r.stderr).toContain("--secret-env-names: not in the job environment: NOT_THERE");
  });

  test.each([
    ["--secret-env-names \"\"", ["--secret-env-names", ""], {}],
    ["--secret-values-list \"\"", ["--secret-values-list", ""], {}],
    ["REACTORCIDE_SECRET_ENV_NAMES=", [], { REACTORCIDE_SECRET_ENV_NAMES: "" }],
  ])("an explicit empty setting (%s) masks nothing", async (_, flags, env) => {
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--job-env", ENV, ...flags, "--job-command", PRINT], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("token=token-value-123 mode=visible-setting\n");
  });

  test("--secret-values-list inline: the listed values, in the job's output and the runner's own lines", async () => {
    const r = await runCli([
      "run", "--workspace", freshWorkspace(), "--name", "deploy-with-listed-one", "--job-env", ENV,
      "--secret-values-list", "listed-one, listed-two", "--job-command", `echo "a=listed-one b=listed-two" >&2; ${PRINT}; exit 4`,
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("a=*** b=***\n");
    // The default is replaced: job variables are not masked unless listed.
    expect(r.stdout).toContain("token=token-value-123");
    // Step header (which echoes the command) and the failure message name the job: masked too.
    expect(r.stdout).toContain("deploy-with-***: echo \"a=*** b=***\"");
    expect(r.stderr).toContain("deploy-with-***: failed with exit code 4");
    expect(both(r)).not.toContain("listed-");
  });

  test("--secret-values-list as a file in the workspace (one value per line); a file outside is refused naming the flag", async () => {
    const ws = freshWorkspace();
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, "secrets.txt"), "first-from-file\nsecond, with comma\n");
    for (const path of ["/job/secrets.txt", "secrets.txt"]) {
      const r = await runCli(["run", "--workspace", ws, "--secret-values-list", path, "--job-command", "echo 'first-from-file | second, with comma'"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("*** | ***\n");
      expect(both(r)).not.toContain("first-from-file");
    }

    const marker = join(dir, "outside-ran");
    writeFileSync(join(dir, "outside.txt"), "x-outside-x\n");
    symlinkSync(join(dir, "outside.txt"), join(ws, "link.txt"));
    for (const path of [join(dir, "outside.txt"), "/job/link.txt", "/job/../outside.txt"]) {
      const r = await runCli(["run", "--workspace", ws, "--secret-values-list", path, "--job-command", `touch ${marker}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--secret-values-list:");
      expect(existsSync(marker)).toBe(false);
    }
    const viaEnv = await runCli(["run", "--workspace", ws, "--job-command", `touch ${marker}`], { env: { REACTORCIDE_SECRET_VALUES_LIST: join(dir, "outside.txt") } });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toContain("REACTORCIDE_SECRET_VALUES_LIST:");
    expect(existsSync(marker)).toBe(false);
  });

  test("--secret-mask sets the mask text, which keeps the default sources; an unusable one is refused naming the setting", async () => {
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--job-env", ENV, "--secret-mask", "[hidden]", "--job-command", PRINT]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("token=[hidden] mode=visible-setting\n");
    const marker = join(dir, "mask-ran");
    for (const [flags, env, field] of [
      [["--secret-mask", ""], {}, "--secret-mask"],
      [[], { REACTORCIDE_SECRET_MASK: "two\nlines" }, "REACTORCIDE_SECRET_MASK"],
    ] as const) {
      const bad = await runCli(["run", "--workspace", freshWorkspace(), ...flags, "--job-command", `touch ${marker}`], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`${field}: must be 1 to 64 printable characters`);
      expect(existsSync(marker)).toBe(false);
    }
  });

  test("a missing --secrets-file is refused naming the setting; nothing runs", async () => {
    const marker = join(dir, "missing-ran");
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--secrets-file", join(dir, "nope.env"), "--job-command", `touch ${marker}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--secrets-file: secrets file not found");
    expect(existsSync(marker)).toBe(false);
  });
});

test("a job with steps: a multi-line job variable (a PEM key) is masked whole and line by line, in step output and step headers", async () => {
  const job = join(dir, "steps-pem.yaml");
  writeFileSync(
    job,
    [
      "name: steps-pem",
      "env:",
      "  PEM: |",
      "    -----BEGIN TEST KEY-----",
      "    first-key-line-abc",
      "    second-key-line-def",
      "    -----END TEST KEY-----",
      "  STEP_TOKEN: step-token-value",
      "steps:",
      "  - name: build-step-token-value",
      '    run: echo "tok=$STEP_TOKEN"; echo "$PEM"; echo "$PEM" | sed -n 3p >&2',
      "  - name: second",
      '    run: printf %s "$PEM" | base64 -w0; echo',
      "",
    ].join("\n"),
  );
  const r = await runCli(["run-job", job, "--workspace", freshWorkspace()]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("[build-***] tok=***\n");
  expect(r.stdout).toContain("[build-***] ***\n");
  expect(r.stderr).toContain("[build-***] ***\n");
  for (const text of ["step-token-value", "key-line", "BEGIN TEST KEY", Buffer.from("-----BEGIN TEST KEY-----\nfirst").toString("base64").slice(0, 12)]) {
    expect(both(r)).not.toContain(text);
  }
});

test("config and validate mask what run would: a job command holding a secret, a problem quoting one", async () => {
  const shown = await runCli(["config", "--job-env", "TOKEN=cfg-secret-31", "--job-command", "curl -H 'auth: cfg-secret-31' x", "--json"]);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain("auth: ***");
  const problems = await runCli(["validate", "--secret-values-list", "val-secret-32", "--timeout", "val-secret-32", "--job-command", "true"]);
  expect(problems.code).toBe(1);
  expect(problems.stderr).toContain('--timeout: "***" is not valid');
  for (const r of [shown, problems]) expect(both(r)).not.toMatch(/cfg-secret|val-secret/);
  const bad = await runCli(["config", "--secrets-file", join(dir, "nope.env"), "--job-command", "true"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--secrets-file: secrets file not found");
});

describe("--secrets-file", () => {
  const value = "deploy-key-s3cr3t-9f8e7d";
  const hash = createHash("sha256").update(value).digest("hex");
  const secretsFile = join(dir, "deploy.env");
  beforeAll(() => writeFileSync(secretsFile, `DEPLOY_KEY=${value}\n`));

  test("values reach the job's environment, never a command line (ps, /proc/<pid>/cmdline) nor the log", async () => {
    const ws = freshWorkspace();
    const ready = join(dir, "sf-ready");
    const go = join(dir, "sf-go");
    const proc = spawnCli(binary, [
      "run", "--workspace", ws, "--secrets-file", secretsFile, "--job-command",
      `printf %s "$DEPLOY_KEY" | sha256sum; echo "out=$DEPLOY_KEY"; echo "err=$DEPLOY_KEY" >&2; echo $$ > ${ready}.tmp; mv ${ready}.tmp ${ready}; while [ ! -e ${go} ]; do sleep 0.02; done`,
    ]);
    await waitFor(ready);
    const jobPid = Number(readFileSync(ready, "utf8"));
    const ps = Bun.spawnSync(["ps", "-eo", "pid,args", "ww"]).stdout.toString();
    const runnerLine = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8");
    const jobLine = readFileSync(`/proc/${jobPid}/cmdline`, "utf8");
    const everyLine = allCommandLines();
    writeFileSync(go, "");
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);

    expect(code).toBe(0);
    expect(stdout).toContain(`${hash}  -\nout=***\n`);
    expect(stderr).toContain("err=***\n");
    expect(stdout + stderr).not.toContain(value);
    expect(runnerLine).toContain("--secrets-file");
    for (const line of [ps, runnerLine, jobLine, ...everyLine]) expect(line).not.toContain(value);
  });

  test("also as REACTORCIDE_SECRETS_FILE, with run-job; being an explicit setting, it replaces the default", async () => {
    const job = join(dir, "job-sf.yaml");
    writeFileSync(job, `name: job-sf\nenv:\n  PLAIN: plain-value-1\ncommand: echo "k=$DEPLOY_KEY p=$PLAIN"\n`);
    const r = await runCli(["run-job", job, "--workspace", freshWorkspace()], { env: { REACTORCIDE_SECRETS_FILE: secretsFile } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("k=*** p=plain-value-1\n");
  });

  test("--dry-run shows neither the values nor (when listed) the command's secrets", async () => {
    const marker = join(dir, "dry-ran");
    const r = await runCli([
      "run", "--dry-run", "--workspace", freshWorkspace(), "--secrets-file", secretsFile, "--secret-values-list", "dry-listed-value",
      "--job-command", `echo dry-listed-value > ${marker}`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("DEPLOY_KEY");
    expect(r.stdout).toContain("echo *** >");
    expect(both(r)).not.toContain(value);
    expect(both(r)).not.toContain("dry-listed-value");
    expect(existsSync(marker)).toBe(false);
  });
});

describe("registration socket in place", () => {
  test("a value the job registers is masked in all its later output, stdout and stderr, plain and encoded", async () => {
    const ws = freshWorkspace();
    // Built at run time so the command line (and the runner's header echoing it) never holds the value.
    const script = [
      `v=$(printf '%s-%s' minted token-4242); w=$(printf '%s-%s' second minted-77)`,
      `"${binary}" register-secret "$v"`,
      `printf '%s\\n' "$w" | "${binary}" register-secret -`,
      `echo "plain=$v"; echo "err=$v" >&2; printf %s "$v" | base64; printf 'xy%s' "$v" | base64 -w0; echo`,
      `printf 'split=%s' "$(printf %s "$v" | cut -c1-5)"; sleep 0.2; printf '%s\\n' "$(printf %s "$v" | cut -c6-)"`,
      `echo "second=$w" >&2; printf 'last=%s' "$v"`,
    ].join("\n");
    const r = await runCli(["run", "--workspace", ws, "--secret-env-names", "", "--job-command", script]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("plain=***\n");
    expect(r.stdout).toContain("split=***\n");
    // The last line, without a newline, is masked too.
    expect(r.stdout).toContain("last=***");
    expect(r.stderr).toContain("err=***\n");
    expect(r.stderr).toContain("second=***\n");
    for (const text of ["minted-token-4242", "second-minted-77", Buffer.from("minted-token-4242").toString("base64")]) {
      expect(both(r)).not.toContain(text);
    }
    expect(both(r)).not.toContain(Buffer.from("xyminted-token-4242").toString("base64").slice(4, 24));
    // The socket goes with the run; the workspace keeps nothing of it.
    expect(existsSync(join(ws, ".reactorcide-secrets"))).toBe(false);
  });

  test("a job script registers through registerSecret() from the runner library", async () => {
    const ws = freshWorkspace();
    mkdirSync(ws, { recursive: true });
    const script = join(ws, "register.ts");
    writeFileSync(
      script,
      `import { registerSecrets } from "reactorcide";
       const value = ["lib", "minted", "9090"].join("-");
       console.log("registered", await registerSecrets([value, "", "lib-other-8080"]));
       console.log("value=" + value);
       console.error(JSON.stringify({ value }));`,
    );
    const r = await runCli(["run", "--workspace", ws, "--secret-env-names", "", "--job-command", `"${binary}" script ${script}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("registered 2\nvalue=***\n");
    expect(r.stderr).toContain('{"value":"***"}');
    expect(both(r)).not.toContain("lib-minted-9090");
  });

  test("register-secret outside a job says why and exits 1", async () => {
    const r = await runCli(["register-secret", "some-value"]);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain("REACTORCIDE_SECRETS_SOCKET is not set");
    expect(r.stderr + r.stdout).not.toContain("some-value");
  });
});
