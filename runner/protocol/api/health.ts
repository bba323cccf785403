/** /healthz, /readyz and /metrics (no token). */
import { Type } from "@sinclair/typebox";

export const HealthSchema = Type.Object({ status: Type.Literal("ok") }, { additionalProperties: false });
export const ReadySchema = Type.Object({ status: Type.Literal("ready") }, { additionalProperties: false });
export const MetricsTextSchema = Type.String({ description: "Prometheus text exposition format" });
