/**
 * CloudWatch Embedded Metric Format (EMF), hand-written.
 *
 * Why not Powertools (@aws-lambda-powertools/metrics)? Measured with `npm pack --dry-run` on
 * 2026-11-22: logger 2.36.0 = 330 KB unpacked (59 KB packed), metrics 2.36.0 = 262 KB (41 KB),
 * batch 2.35.0 = 265 KB (31 KB), commons 2.36.0 = 247 KB (37 KB), plus @aws/lambda-invoke-store
 * 30 KB and @standard-schema/spec 23 KB: ≈ 1.16 MB unpacked / ≈ 180 KB gzipped, while the
 * infrastructure issue allows ≤ 100 KB per function archive (AWS SDK excluded) and Pulumi's
 * CallbackFunction copies every `dependencies` package into it. The part we need (one EMF
 * object per log line, three metrics) is ~40 lines, so we write it ourselves.
 *
 * Each metric block is merged into the one structured log line of a request/record (log.ts),
 * so a request costs one line, and CloudWatch extracts the metrics from it.
 */
import { DEFAULTS } from "./defaults";
import { METRICS } from "./metric-names";
import type { FailureKind } from "./errors";

/** What one request/record contributes to the metrics. */
export interface MetricValues {
  /** Milliseconds the model call took (successful calls). */
  generationLatencyMs?: number;
  /** Pictures stored (0 or 1). */
  imagesGenerated?: number;
  /** Set when the request/record failed. */
  failureKind?: FailureKind;
}

interface MetricDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: string }[];
}

/** The EMF members (`_aws` plus the metric values) to merge into a JSON log line; {} when nothing to report. */
export function emfFields(
  values: MetricValues,
  service: string = DEFAULTS.metricsService,
  now: number = Date.now(),
): Record<string, unknown> {
  const fields: Record<string, unknown> = { [METRICS.serviceDimension]: service };
  const directives: MetricDirective[] = [];
  const plain: MetricDirective["Metrics"] = [];
  if (values.generationLatencyMs !== undefined) {
    plain.push({ Name: METRICS.generationLatency.name, Unit: METRICS.generationLatency.unit });
    fields[METRICS.generationLatency.name] = Math.round(values.generationLatencyMs);
  }
  if (values.imagesGenerated) {
    plain.push({ Name: METRICS.imagesGenerated.name, Unit: METRICS.imagesGenerated.unit });
    fields[METRICS.imagesGenerated.name] = values.imagesGenerated;
  }
  if (plain.length) directives.push({ Namespace: METRICS.namespace, Dimensions: [[METRICS.serviceDimension]], Metrics: plain });
  if (values.failureKind) {
    directives.push({
      Namespace: METRICS.namespace,
      Dimensions: [[METRICS.serviceDimension, METRICS.failures.dimension]],
      Metrics: [{ Name: METRICS.failures.name, Unit: METRICS.failures.unit }],
    });
    fields[METRICS.failures.dimension] = values.failureKind;
    fields[METRICS.failures.name] = 1;
  }
  if (!directives.length) return {};
  return { _aws: { Timestamp: now, CloudWatchMetrics: directives }, ...fields };
}
