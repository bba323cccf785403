import type * as grpc from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";

type ServingStatus = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";
interface CheckRequest {
  service: string;
}
interface CheckResponse {
  status: ServingStatus;
}

/**
 * grpc.health.v1.Health for our server. The grpc-health-check package's proto is reused
 * (daemon/corndogs/proto.ts), but not its HealthImplementation: that module reads the proto from
 * its install directory at import, which a compiled binary does not have.
 */
export class Health {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<{ service: string; call: grpc.ServerWritableStream<CheckRequest, CheckResponse> }>();

  constructor(services: string[]) {
    for (const name of ["", ...services]) this.statuses.set(name, "SERVING");
  }

  setAll(value: ServingStatus): void {
    for (const name of this.statuses.keys()) this.statuses.set(name, value);
    for (const w of this.watchers) if (this.statuses.has(w.service)) w.call.write({ status: value });
  }

  /** Ends open Watch streams (on shutdown). */
  endWatches(): void {
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
  }

  readonly implementation: grpc.UntypedServiceImplementation = {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) => {
      const value = this.statuses.get(call.request.service);
      if (!value) callback({ code: status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
      else callback(null, { status: value });
    },
    Watch: (call: grpc.ServerWritableStream<CheckRequest, CheckResponse>) => {
      const watcher = { service: call.request.service, call };
      call.write({ status: this.statuses.get(watcher.service) ?? "SERVICE_UNKNOWN" });
      this.watchers.add(watcher);
      call.on("cancelled", () => this.watchers.delete(watcher));
    },
    List: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const statuses = Object.fromEntries([...this.statuses].map(([name, value]) => [name, { status: value }]));
      callback(null, { statuses });
    },
  };
}
