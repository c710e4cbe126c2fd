import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRICS } from "../runtime/metric-names";

/** Arguments of {@link ImageDashboard}. */
export interface ImageDashboardArgs {
  /** Dashboard name, unique in the account and region (include the stack). */
  dashboardName: string;
  /** Value of the runtime metrics' Service dimension (the functions' METRICS_SERVICE). */
  serviceName: pulumi.Input<string>;
  /** Region of the queues, API and functions. */
  region: pulumi.Input<string>;
  queueName: pulumi.Input<string>;
  deadLetterQueueName: pulumi.Input<string>;
  /** Name and stage of the REST API (its 4XXError/5XXError metrics are per ApiName and Stage). */
  apiName: pulumi.Input<string>;
  apiStage: pulumi.Input<string>;
  /** Names of the functions whose errors and throttles are shown. @default [] */
  functionNames?: pulumi.Input<string>[];
  /** The age alarm's threshold, drawn as a line on the oldest-message-age graph. */
  alarmAgeThresholdSeconds: number;
  /** Seconds per data point: the alarm's evaluation period. */
  alarmPeriodSeconds: number;
}

/**
 * One CloudWatch dashboard per stack: how old the oldest prompt is, queue and dead-letter depth,
 * picture generation latency p50/p95 and failures by kind (the runtime's EMF metrics), API 4xx/5xx
 * and function errors.
 */
export class ImageDashboard extends pulumi.ComponentResource {
  public readonly dashboard: aws.cloudwatch.Dashboard;

  constructor(name: string, args: ImageDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:ImageDashboard", name, {}, opts);
    const period = args.alarmPeriodSeconds;
    const widget = (x: number, y: number, title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
      type: "metric",
      x,
      y,
      width: 12,
      height: 6,
      properties: { title, region: args.region, period, view: "timeSeries", stacked: false, metrics, ...extra },
    });
    const sqs = (metric: string, queue: pulumi.Input<string>, label: string) => [
      "AWS/SQS",
      metric,
      "QueueName",
      queue,
      { stat: "Maximum", label },
    ];

    const widgets = [
      widget(0, 0, "Oldest prompt in the queue (s)", [sqs("ApproximateAgeOfOldestMessage", args.queueName, "age of oldest message")], {
        annotations: { horizontal: [{ label: "alarm", value: args.alarmAgeThresholdSeconds }] },
      }),
      widget(12, 0, "Queue and dead-letter depth", [
        sqs("ApproximateNumberOfMessagesVisible", args.queueName, "waiting"),
        sqs("ApproximateNumberOfMessagesNotVisible", args.queueName, "in progress"),
        sqs("ApproximateNumberOfMessagesVisible", args.deadLetterQueueName, "dead letters"),
      ]),
      widget(0, 6, "Picture generation latency (ms)", [
        [METRICS.namespace, METRICS.generationLatency.name, METRICS.serviceDimension, args.serviceName, { stat: "p50", label: "p50" }],
        [METRICS.namespace, METRICS.generationLatency.name, METRICS.serviceDimension, args.serviceName, { stat: "p95", label: "p95" }],
      ]),
      widget(12, 6, "Failures by kind", [
        [
          {
            expression: pulumi.interpolate`SEARCH('{${METRICS.namespace},${METRICS.serviceDimension},${METRICS.failures.dimension}} MetricName="${METRICS.failures.name}" ${METRICS.serviceDimension}="${args.serviceName}"', 'Sum', ${period})`,
            id: "failures",
            label: "",
          },
        ],
      ]),
      widget(0, 12, "API responses 4xx / 5xx", [
        ["AWS/ApiGateway", "4XXError", "ApiName", args.apiName, "Stage", args.apiStage, { stat: "Sum", label: "4xx" }],
        ["AWS/ApiGateway", "5XXError", "ApiName", args.apiName, "Stage", args.apiStage, { stat: "Sum", label: "5xx" }],
      ]),
      widget(
        12,
        12,
        "Function errors and throttles",
        (args.functionNames ?? []).flatMap((fn) => [
          ["AWS/Lambda", "Errors", "FunctionName", fn, { stat: "Sum" }],
          ["AWS/Lambda", "Throttles", "FunctionName", fn, { stat: "Sum" }],
        ]),
      ),
    ];

    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.dashboardName,
        dashboardBody: pulumi.jsonStringify({ widgets }),
      },
      { parent: this },
    );
    this.registerOutputs({ dashboardName: this.dashboard.dashboardName });
  }
}
