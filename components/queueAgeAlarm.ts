import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link QueueAgeAlarm}. */
export interface QueueAgeAlarmArgs {
  /** Name of the work queue whose oldest message is watched. */
  queueName: pulumi.Input<string>;
  /** Name of its dead-letter queue; any message there raises a second alarm. */
  deadLetterQueueName: pulumi.Input<string>;
  /** Address that receives alarm and OK notifications (AWS asks it to confirm the subscription). */
  alarmEmail: pulumi.Input<string>;
  /** Age in seconds of the oldest message at which pictures are arriving too late. */
  alarmAgeThresholdSeconds: number;
  /** Length of one evaluation period in seconds (SQS publishes metrics every minute). */
  alarmPeriodSeconds: number;
  /** Consecutive periods above the threshold before the alarm fires. */
  alarmEvaluationPeriods: number;
}

/**
 * Tells a person when the queue falls behind: a CloudWatch alarm on `ApproximateAgeOfOldestMessage`,
 * another on the dead-letter queue holding any message, both notifying an SNS topic with an e-mail
 * subscription when they fire and when they recover.
 */
export class QueueAgeAlarm extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;
  public readonly ageAlarm: aws.cloudwatch.MetricAlarm;
  public readonly deadLetterAlarm: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: QueueAgeAlarmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:QueueAgeAlarm", name, {}, opts);
    const parent = { parent: this };
    const periodSeconds = args.alarmPeriodSeconds;

    this.topic = new aws.sns.Topic(`${name}-topic`, { displayName: `${name} alarms` }, parent);
    new aws.sns.TopicSubscription(`${name}-email`, { topic: this.topic.arn, protocol: "email", endpoint: args.alarmEmail }, parent);
    const actions = {
      alarmActions: [this.topic.arn],
      okActions: [this.topic.arn],
      // An empty or idle queue publishes no age: that is good news, not an alarm.
      treatMissingData: "notBreaching",
    };

    const thresholdSeconds = args.alarmAgeThresholdSeconds;
    this.ageAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-oldest-message-age`,
      {
        name: `${name}-oldest-message-age`,
        alarmDescription: pulumi.interpolate`The oldest prompt in ${args.queueName} has waited ${thresholdSeconds} s or more: pictures arrive late (workers failing, throttled by Bedrock, or too few).`,
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: args.queueName },
        statistic: "Maximum",
        period: periodSeconds,
        evaluationPeriods: args.alarmEvaluationPeriods,
        threshold: thresholdSeconds,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        ...actions,
      },
      parent,
    );

    this.deadLetterAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-dead-letters`,
      {
        name: `${name}-dead-letters`,
        alarmDescription: pulumi.interpolate`${args.deadLetterQueueName} holds prompts that failed every delivery; look at them and redrive or delete.`,
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: args.deadLetterQueueName },
        statistic: "Maximum",
        period: periodSeconds,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        ...actions,
      },
      parent,
    );

    this.registerOutputs({ topicArn: this.topic.arn });
  }
}
