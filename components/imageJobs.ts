import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createQueueHandler } from "../runtime";
import { DEFAULTS } from "../runtime/defaults";
import type { BucketPrefixAccess } from "./bucketPrefixAccess";
import { HandlerFunction } from "./handlerFunction";
import { toHandlerEnv } from "../runtime/config";
import { workerModelBudget } from "../runtime/time-budget";
import { commonSettings, FoundationModel, invokeModelStatement, type StackIdentity } from "./wiring";

/** Arguments of {@link ImageJobs}. */
export interface ImageJobsArgs {
  /** The stack's service name (metrics) and the boundary the worker's role carries. */
  identity: StackIdentity;
  /** Where the worker stores pictures; it gets the prefix's write policy only. */
  storage: BucketPrefixAccess;
  /** The model the worker may invoke. */
  model: FoundationModel;
  /** Records per worker invocation. */
  queueBatchSize: number;
  /**
   * Most worker invocations the event source runs at once (2–1000), which caps parallel model calls
   * at queueMaxConcurrency × workerConcurrency.
   */
  queueMaxConcurrency: number;
  /** Records of one batch generated at the same time inside the worker. */
  workerConcurrency: number;
  /** Deliveries of a message before it moves to the dead-letter queue. */
  maxReceiveCount: number;
  /** Worker timeout in seconds; the queue's visibility timeout is six times this. */
  workerTimeoutSeconds: number;
  /** Worker memory in MB. */
  workerMemoryMb: number;
  /** Days CloudWatch keeps the worker's logs. */
  logRetentionDays: number;
}

/** Longest a dead letter is kept (the SQS maximum), so there is time to look at it. */
const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

/** The job queue and its dead-letter queue. */
function jobQueues(name: string, timeoutSeconds: number, maxReceiveCount: number, parent: pulumi.ResourceOptions) {
  const deadLetterQueue = new aws.sqs.Queue(
    `${name}-dlq`,
    {
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
    },
    parent,
  );
  const queue = new aws.sqs.Queue(
    `${name}-queue`,
    {
      // A message stays hidden while a worker may still be busy with it, including SQS's retries of
      // a throttled invocation; shorter and it would be generated twice.
      // AWS guidance for SQS-triggered functions: visibility timeout ≥ 6 × function timeout.
      visibilityTimeoutSeconds: DEFAULTS.visibilityTimeoutFactor * timeoutSeconds,
      sqsManagedSseEnabled: true,
      redrivePolicy: pulumi.jsonStringify({
        deadLetterTargetArn: deadLetterQueue.arn,
        maxReceiveCount,
      }),
    },
    parent,
  );
  return { queue, deadLetterQueue };
}

/** The function running the runtime's queue handler, allowed to consume `queue` only. */
function workerFunction(name: string, args: ImageJobsArgs, queue: aws.sqs.Queue, parent: pulumi.ResourceOptions) {
  const { workerConcurrency, maxReceiveCount } = args;
  return new HandlerFunction<SQSEvent, SQSBatchResponse>(
    `${name}-worker`,
    {
      description: "Turns queued prompts into pictures (runtime queue handler)",
      callbackFactory: () => createQueueHandler(process.env),
      // The worker records a failure on a message's last delivery, before SQS moves it to the DLQ.
      environment: toHandlerEnv({
        ...commonSettings(args.storage, args.model, args.identity.serviceName),
        workerConcurrency,
        maxReceiveCount,
      }),
      statements: [
        invokeModelStatement(args.model),
        {
          Sid: "ConsumeOwnQueue",
          Effect: "Allow",
          Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
          Resource: queue.arn,
        },
      ],
      // Pictures and failure records, and the job markers it writes on each delivery and removes when a job ends.
      policyArns: { "write-pictures": args.storage.writePolicy.arn, "job-markers": args.storage.jobMarkerPolicy.arn },
      timeoutSeconds: args.workerTimeoutSeconds,
      memorySizeMb: args.workerMemoryMb,
      logRetentionDays: args.logRetentionDays,
      permissionsBoundary: args.identity.permissionsBoundary,
    },
    parent,
  );
}

/**
 * queue.onEvent is the inline event subscription, but its arguments stop at batch size. This
 * resource transformation on the subscription fills in the rest of its event source mapping —
 * partial batch responses (the handler returns batchItemFailures, so one bad record no longer
 * fails its whole batch) and maximum concurrency — and narrows the Lambda permission it adds
 * from "lambda:*" to invoking. Creating the EventSourceMapping by hand would work as well, but
 * would give up the subscription the issue asks for.
 */
function completeSubscription(maximumConcurrency: number): pulumi.ResourceTransformation {
  return (resource) => {
    if (resource.type === "aws:lambda/eventSourceMapping:EventSourceMapping") {
      return {
        props: {
          ...resource.props,
          functionResponseTypes: ["ReportBatchItemFailures"],
          scalingConfig: { maximumConcurrency },
        },
        opts: resource.opts,
      };
    }
    if (resource.type === "aws:lambda/permission:Permission") {
      return { props: { ...resource.props, action: "lambda:InvokeFunction" }, opts: resource.opts };
    }
    return undefined;
  };
}

/**
 * The asynchronous path, queue and worker together: an SQS queue with a dead-letter queue, and the
 * inline event-subscription Lambda that runs the runtime's queue handler with partial batch responses.
 */
export class ImageJobs extends pulumi.ComponentResource {
  public readonly queue: aws.sqs.Queue;
  public readonly deadLetterQueue: aws.sqs.Queue;
  public readonly worker: HandlerFunction<SQSEvent, SQSBatchResponse>;
  public readonly subscription: aws.sqs.QueueEventSubscription;

  constructor(name: string, args: ImageJobsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:ImageJobs", name, {}, opts);
    const parent = { parent: this };
    const { workerTimeoutSeconds: timeoutSeconds, queueBatchSize: batchSize, workerConcurrency } = args;
    // A batch larger than the concurrency is generated in rounds, each model call taking a share of
    // what the invocation has left (runtime/time-budget.ts); a timeout too short for all of them is
    // refused here, at preview, instead of Lambda cutting off every batch and bringing it back.
    workerModelBudget(timeoutSeconds, { batchSize, workerConcurrency });

    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = jobQueues(name, timeoutSeconds, args.maxReceiveCount, parent));
    this.worker = workerFunction(name, args, this.queue, parent);
    this.subscription = this.queue.onEvent(
      `${name}-subscription`,
      this.worker.function,
      {
        batchSize,
      },
      {
        transformations: [completeSubscription(args.queueMaxConcurrency)],
      },
    );

    this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
