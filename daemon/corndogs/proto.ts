import * as grpc from "@grpc/grpc-js";
import { fromJSON, type Options } from "@grpc/proto-loader";
import Long from "long";
import protobuf from "protobufjs";
// Imported as text so `bun build --compile` embeds them: the binary has no proto files on disk.
import corndogsProto from "./corndogs.proto" with { type: "text" };
import taskEventsProto from "./task-events.proto" with { type: "text" };
import healthProto from "grpc-health-check/proto/health/v1/health.proto" with { type: "text" };

// protobufjs finds long.js through a runtime `require` that a compiled binary cannot resolve;
// without it int64 values pass through JS numbers and lose precision beyond 2^53.
protobuf.util.Long = Long;
protobuf.configure();

/** int64 fields travel as decimal strings (never JS numbers), bytes as Buffer, names as in the proto. */
const loaderOptions: Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

function load(text: string): grpc.GrpcObject {
  const root = protobuf.parse(text, { keepCase: true }).root;
  return grpc.loadPackageDefinition(fromJSON(root.toJSON(), loaderOptions));
}

type ServiceCtor = grpc.ServiceClientConstructor;

function service(pkg: grpc.GrpcObject, path: string[]): ServiceCtor {
  let node: unknown = pkg;
  for (const part of path) node = (node as Record<string, unknown>)[part];
  if (typeof node !== "function") throw new Error(`proto service ${path.join(".")} not found`);
  return node as ServiceCtor;
}

export const CorndogsService = service(load(corndogsProto), ["corndogs", "v1alpha1", "CorndogsService"]);
export const TaskEventsService = service(load(taskEventsProto), ["reactorcide", "queue", "v1", "TaskEvents"]);
export const HealthService = service(load(healthProto), ["grpc", "health", "v1", "Health"]);
export const CORNDOGS_SERVICE_NAME = "corndogs.v1alpha1.CorndogsService";
