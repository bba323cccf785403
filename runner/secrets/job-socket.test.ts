import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secretSettingsFrom } from "./cli-args.ts";
import { openJobSocket, parseUser } from "./job-socket.ts";
import { Masker } from "./masker.ts";
import { registerSecret } from "./socket-client.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

test("the job is told the socket path it sees: the host path in place, under /job in a container", async () => {
  const workspace = mkdtempSync(join(tmpdir(), "job-socket-"));
  cleanups.push(() => rmSync(workspace, { recursive: true, force: true }));
  const masker = new Masker();

  const inPlace = await openJobSocket({ masker, workspace });
  expect(inPlace.env.REACTORCIDE_SECRETS_SOCKET).toBe(join(workspace, ".reactorcide-secrets", "secrets.sock"));
  expect(await registerSecret("in-place-value", { socketPath: inPlace.env.REACTORCIDE_SECRETS_SOCKET })).toBe(1);
  await inPlace.socket.close();
  expect(existsSync(inPlace.socket.path)).toBe(false);

  const contained = await openJobSocket({ masker, workspace, jobWorkspace: "/job", user: "1001:1001" });
  cleanups.push(() => contained.socket.close());
  expect(contained.env.REACTORCIDE_SECRETS_SOCKET).toBe("/job/.reactorcide-secrets/secrets.sock");
  expect(contained.socket.path).toBe(join(workspace, ".reactorcide-secrets", "secrets.sock"));
  if (process.getuid!() === 0) expect(statSync(contained.socket.path).uid).toBe(1001);
  expect(masker.mask("in-place-value")).toBe("***");
});

test("parseUser takes numeric uid[:gid] only", () => {
  expect(parseUser("1001:1002")).toEqual({ uid: 1001, gid: 1002 });
  expect(parseUser("1001")).toEqual({ uid: 1001, gid: 1001 });
  expect(parseUser("runner")).toBeUndefined();
  expect(parseUser(undefined)).toBeUndefined();
});

test("secret settings: flags over environment, an empty variable counts as given", () => {
  expect(secretSettingsFrom({}, {})).toEqual({ labels: {} });
  expect(secretSettingsFrom({}, { REACTORCIDE_SECRET_VALUES_LIST: "" })).toEqual({ valuesList: "", labels: { valuesList: "REACTORCIDE_SECRET_VALUES_LIST" } });
  expect(secretSettingsFrom({ "secret-env-names": "A,B" }, { REACTORCIDE_SECRET_ENV_NAMES: "C" })).toEqual({
    envNames: "A,B",
    labels: { envNames: "--secret-env-names" },
  });
  expect(secretSettingsFrom({ "secrets-file": "/x.env" }, {}).secretsFile).toBe("/x.env");
});
