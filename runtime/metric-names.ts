/**
 * CloudWatch metrics the handlers emit in Embedded Metric Format (see runtime/metrics.ts).
 * A dashboard or alarm refers to these names; they are part of the contract with infra.
 */
export const METRICS = {
  namespace: "CouchExplorers",
  /** Every metric carries this dimension, valued by METRICS_SERVICE (the stack). */
  serviceDimension: "Service",
  /** Wall time of one successful InvokeModel call (including the SDK's retries). */
  generationLatency: { name: "GenerationLatency", unit: "Milliseconds" },
  /** One per picture stored. */
  imagesGenerated: { name: "ImagesGenerated", unit: "Count" },
  /** One per failed request/record, with dimension FailureKind = permanent | transient. */
  failures: { name: "Failures", unit: "Count", dimension: "FailureKind" },
} as const;
