import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJobSpec, type JobSpec } from "../protocol/job-spec.ts";
import { FIELDS, type FieldName } from "./fields.ts";
import { resolveConfig } from "./resolve.ts";

/** One value per layer for each field; `job` is absent for fields a job file cannot set. */
const SAMPLES: Record<FieldName, { env: string; job?: string | number; flag: string; expected: (raw: string | number) => unknown }> = {
  name: { env: "from-env", job: "from-job", flag: "from-flag", expected: String },
  job_command: { env: "echo env", job: "echo job", flag: "echo flag", expected: String },
  code_dir: { env: "/job/env", flag: "/job/flag", expected: String },
  job_dir: { env: "/job/env-dir", flag: "/job/flag-dir", expected: String },
  job_env: { env: "A=env", flag: "A=flag", expected: String },
  workspace: { env: "/tmp/ws-env", flag: "/tmp/ws-flag", expected: String },
  source_type: { env: "git", job: "copy", flag: "tarball", expected: String },
  source_url: { env: "https://env.example/r.git", job: "/src/job", flag: "/src/flag", expected: String },
  source_ref: { env: "env-branch", job: "job-branch", flag: "flag-branch", expected: String },
  pr_number: { env: "7", flag: "8", expected: String },
  ci_source_type: { env: "git", job: "copy", flag: "tarball", expected: String },
  ci_source_url: { env: "https://env.example/ci.git", job: "/ci/job", flag: "/ci/flag", expected: String },
  ci_source_ref: { env: "env-ci", job: "job-ci", flag: "flag-ci", expected: String },
  image: { env: "img:env", job: "img:job", flag: "img:flag", expected: String },
  runtime: { env: "podman", flag: "nerdctl", expected: String },
  timeout: { env: "5", job: 6, flag: "7", expected: Number },
  grace_period: { env: "1", flag: "3", expected: Number },
  cpu: { env: "1", job: 1.5, flag: "3", expected: Number },
  memory: { env: "1g", job: "512m", flag: "3g", expected: String },
  pids: { env: "100", job: 200, flag: "300", expected: Number },
  dry_run: { env: "true", flag: "false", expected: (v) => v === "true" },
};

/** A valid job file that sets just this field, through its key (`resources.cpu`). */
function jobSetting(key: string, value: string | number): JobSpec {
  const [top, sub] = key.split(".") as [string, string | undefined];
  const doc: Record<string, unknown> = sub ? { [top]: { ...(top.endsWith("source") ? { type: "git" } : {}), [sub]: value } } : { [top]: value };
  return parseJobSpec(doc);
}

const cwd = "/tmp";

describe("precedence: defaults < REACTORCIDE_* environment < job file < flags", () => {
  test("every field has a sample", () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(FIELDS.map((f) => f.name).sort());
  });

  for (const def of FIELDS) {
    const sample = SAMPLES[def.name];
    test(`${def.name} (${def.env}, --${def.flag}${def.jobKey ? `, ${def.jobKey}` : ""})`, () => {
      const plain = resolveConfig({ env: {}, cwd, inContainer: false });
      expect(plain.origins[def.name]).toBe("default");

      const env = { [def.env]: sample.env };
      const fromEnv = resolveConfig({ env, cwd, inContainer: false });
      expect(fromEnv.origins[def.name]).toBe("environment");
      expect(fromEnv.config[def.name]).toEqual(sample.expected(sample.env) as never);
      expect(fromEnv.labels[def.name]).toBe(def.env);

      let below = fromEnv;
      if (sample.job !== undefined) {
        expect(def.jobKey).toBeDefined();
        const job = { spec: jobSetting(def.jobKey!, sample.job), file: "job.yaml" };
        const fromJob = resolveConfig({ env, job, cwd, inContainer: false });
        expect(fromJob.origins[def.name]).toBe("job file");
        expect(fromJob.config[def.name]).toEqual(sample.expected(sample.job) as never);
        below = resolveConfig({ env, job, flags: { [def.flag]: sample.flag }, cwd, inContainer: false });
      } else {
        expect(def.jobKey).toBeUndefined();
        below = resolveConfig({ env, flags: { [def.flag]: sample.flag }, cwd, inContainer: false });
      }
      expect(below.origins[def.name]).toBe("flag");
      expect(below.config[def.name]).toEqual(sample.expected(sample.flag) as never);
      expect(below.labels[def.name]).toBe(`--${def.flag}`);
    });
  }

  test("defaults: /job/src, job dir follows the code dir, ./job outside a container, /job inside", () => {
    const outside = resolveConfig({ env: {}, cwd: "/srv/repo", inContainer: false }).config;
    expect(outside).toMatchObject({ code_dir: "/job/src", job_dir: "/job/src", workspace: "/srv/repo/job", grace_period: 10, timeout: 0, runtime: "docker", source_type: "none" });
    expect(resolveConfig({ env: {}, cwd, inContainer: true }).config.workspace).toBe("/job");
    expect(resolveConfig({ env: { REACTORCIDE_CODE_DIR: "/job/app" }, cwd, inContainer: false }).config.job_dir).toBe("/job/app");
  });

  test("job environment merges per variable in the same order, each with its origin", () => {
    const ws = mkdtempSync(join(tmpdir(), "reactorcide-env-"));
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, "vars.env"), "A=env\nB=env\nC=env\n");
    const job = { spec: parseJobSpec({ env: { B: "job", C: "job", N: 3, T: true } }), file: "job.yaml" };
    const r = resolveConfig({ env: { REACTORCIDE_JOB_ENV: "/job/vars.env" }, job, flags: { workspace: ws, "job-env": "C=flag" }, cwd, inContainer: false });
    expect(r.jobEnv).toEqual({ A: "env", B: "job", C: "flag", N: "3", T: "true" });
    expect(r.jobEnvOrigins).toEqual({ A: "environment", B: "job file", C: "flag", N: "job file", T: "job file" });
    expect(r.problems).toEqual([]);
  });

  test("unreadable values are problems naming the layer's field, not silent defaults", () => {
    const r = resolveConfig({ env: { REACTORCIDE_TIMEOUT: "ten", REACTORCIDE_DRY_RUN: "maybe" }, flags: { cpu: "-1", "grace-period": "1.5" }, cwd, inContainer: false });
    expect(r.problems.map((p) => p.field).sort()).toEqual(["--cpu", "--grace-period", "REACTORCIDE_DRY_RUN", "REACTORCIDE_TIMEOUT"]);
    expect(r.problems.find((p) => p.field === "REACTORCIDE_TIMEOUT")?.allowed).toContain("whole number");
  });
});
