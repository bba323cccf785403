import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { workerConfig } from "../../options.ts";
import { kubernetesOptions, parseTolerations } from "./options.ts";

const kubeconfig = () => {
  const path = join(mkdtempSync(join(tmpdir(), "reactorcide-kc-")), "config");
  writeFileSync(path, "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n");
  return path;
};

test("--runtime kubernetes: flags become the Job's settings, with the issue's defaults", () => {
  const config = workerConfig({ runtime: "kubernetes", kubeconfig: kubeconfig(), "kube-node-selector": "pool=ci,disk=ssd", "kube-tolerations": "ci=true:NoSchedule,spot" }, { REACTORCIDE_WORKER_NAME: "w-1" }, tmpdir());
  const k = config.kubernetes!;
  expect(k.kubeConfig.getCurrentCluster()?.server).toBe("https://10.0.0.1:6443");
  expect({ ns: k.namespace, sa: k.serviceAccount, start: k.startTimeoutSeconds, worker: k.worker }).toEqual({ ns: "reactorcide-jobs", sa: "reactorcide-job", start: 300, worker: "w-1" });
  expect(k.nodeSelector).toEqual({ pool: "ci", disk: "ssd" });
  expect(k.tolerations).toEqual([{ key: "ci", operator: "Equal", value: "true", effect: "NoSchedule" }, { key: "spot", operator: "Exists" }]);
});

test("bad kubernetes flags are refused naming the flag", () => {
  const kc = kubeconfig();
  for (const [args, message] of [
    [{ "kube-namespace": "Bad_NS" }, /--kube-namespace: "Bad_NS"/],
    [{ "kube-node-selector": "novalue" }, /--kube-node-selector: "novalue"/],
    [{ "kube-tolerations": "a:Sometimes" }, /--kube-tolerations: effect "Sometimes"/],
    [{ "kube-start-timeout": "0" }, /--kube-start-timeout: "0"/],
    [{ "kube-workspace-size": "lots" }, /--kube-workspace-size: "lots"/],
    [{ kubeconfig: "/nonexistent/config" }, /--kubeconfig: \/nonexistent\/config does not exist/],
  ] as const) {
    expect(() => kubernetesOptions({ kubeconfig: kc, ...args }, {})).toThrow(message);
  }
  expect(parseTolerations('[{"key":"k","operator":"Exists","effect":"NoExecute"}]')).toEqual([{ key: "k", operator: "Exists", effect: "NoExecute" }]);
});
