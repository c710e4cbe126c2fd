/**
 * Defaults of the infrastructure-only settings (function sizes, queue wiring, alarm, throttling).
 * Values the handlers share with local mode (model id, Bedrock region, URL expiry, worker
 * concurrency) live in runtime/defaults.ts instead. `Pulumi.yaml` repeats both sets as the
 * config schema's defaults; test/infra/config.test.ts keeps the three in agreement.
 */
export const INFRA_DEFAULTS = {
  /** The HTTP API waits at most 30 s for an integration, so the API functions stop just before. */
  apiTimeoutSeconds: 29,
  apiMemoryMb: 512,
  /**
   * Time for one batch; the Bedrock client's per-try wait is derived from it (modelCallBudget), so
   * all model calls of a run end in time. 180 s gives each of 3 tries up to ~58 s at one round.
   */
  workerTimeoutSeconds: 180,
  workerMemoryMb: 512,
  /** Records per worker invocation; DEFAULTS.workerConcurrency of them are generated at once. */
  queueBatchSize: 5,
  /** Concurrent worker invocations the SQS event source may run (AWS minimum is 2). */
  queueMaxConcurrency: 5,
  /** Deliveries of one message before it moves to the dead-letter queue. */
  maxReceiveCount: 5,
  /** Steady-state requests per second over all routes of the API stage. */
  apiThrottleRateLimit: 5,
  /** Requests the stage absorbs in a burst above the steady rate. */
  apiThrottleBurstLimit: 10,
  /** Age of the oldest queued message that raises the alarm. */
  alarmAgeThresholdSeconds: 60,
  alarmPeriodSeconds: 60,
  alarmEvaluationPeriods: 2,
  /** Retention of function and access log groups. */
  logRetentionDays: 14,
  /** Accept the model's Marketplace agreement in `pulumi up` (a fresh account gets pictures without a console step). */
  acceptModelAgreement: true,
  /** `npm run model-check` fails on a Legacy model unless the stack allows it. */
  allowLegacyModel: false,
} as const;
