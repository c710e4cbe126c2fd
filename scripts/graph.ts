/**
 * `npm run graph -- <stack>`: prints the stack's resource tree (type, name, parent) and the key
 * settings of each resource, evaluated under Pulumi mocks with Pulumi.<stack>.yaml — no credentials,
 * no Pulumi CLI. Reviewers diff its output to see what a change does to dev and prod.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { archiveOf, archiveSize, list } from "../tools/query";
import { evaluateStack, REPO_ROOT, type EvaluatedResource, type EvaluatedStack } from "../tools/stack";

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

function actions(policy: string | undefined): string {
  if (!policy) return "";
  const statements: { Effect: string; Action: string | string[] }[] = JSON.parse(policy).Statement;
  return statements.map((s) => `${s.Effect === "Allow" ? "" : `${s.Effect} `}${list(s.Action).join(",")}`).join("; ");
}

/** The few settings of a resource worth seeing in review, as one line. */
function settings(r: EvaluatedResource, stack: EvaluatedStack): string {
  const i = r.inputs;
  const byArn = (arn: string) => stack.resources.find((x) => x.state.arn === arn)?.name ?? arn;
  switch (r.type) {
    case "aws:lambda/function:Function": {
      const { bytes, deflated } = archiveSize(archiveOf(r));
      return `${i.runtime} ${i.architectures?.join(",")} timeout=${i.timeout}s memory=${i.memorySize}MB archive=${kb(bytes)} (deflated ${kb(deflated)}) env=${Object.keys(
        i.environment?.variables ?? {},
      )
        .sort()
        .join(",")}`;
    }
    case "aws:sqs/queue:Queue": {
      const redrive = i.redrivePolicy ? JSON.parse(i.redrivePolicy) : undefined;
      return [
        i.visibilityTimeoutSeconds !== undefined ? `visibility=${i.visibilityTimeoutSeconds}s` : "",
        i.messageRetentionSeconds !== undefined ? `retention=${i.messageRetentionSeconds}s` : "",
        redrive ? `redrive→${byArn(redrive.deadLetterTargetArn)} after ${redrive.maxReceiveCount} receives` : "",
      ]
        .filter(Boolean)
        .join(" ");
    }
    case "aws:lambda/eventSourceMapping:EventSourceMapping":
      return `batchSize=${i.batchSize} responseTypes=${list(i.functionResponseTypes).join(",")} maxConcurrency=${i.scalingConfig?.maximumConcurrency}`;
    case "aws:lambda/permission:Permission":
      return `${i.action} for ${i.principal}${i.sourceArn?.includes("execute-api") ? ` on ${i.sourceArn.split(":").pop()}` : ""}`;
    case "aws:apigateway/restApi:RestApi":
      return `${i.name} ${i.endpointConfiguration?.types} keys from ${i.apiKeySource}`;
    case "aws:apigateway/resource:Resource":
      return i.pathPart;
    case "aws:apigateway/method:Method":
      return `${i.httpMethod}${i.apiKeyRequired ? " api key required" : ""}`;
    case "aws:apigateway/integration:Integration":
      return i.type === "AWS_PROXY" ? `AWS_PROXY → ${stack.resources.find((x) => x.state.invokeArn === i.uri)?.name ?? i.uri}` : i.type;
    case "aws:apigateway/integrationResponse:IntegrationResponse":
      return `${i.statusCode} ${i.responseTemplates?.["application/json"]}`;
    case "aws:apigateway/response:Response":
      return `${i.responseType}${i.statusCode ? ` ${i.statusCode}` : ""} ${i.responseTemplates?.["application/json"]}`;
    case "aws:apigateway/stage:Stage":
      return `${i.stageName} accessLogs→${byArn(i.accessLogSettings?.destinationArn)}`;
    case "aws:apigateway/methodSettings:MethodSettings":
      return `${i.methodPath} throttling rate=${+i.settings?.throttlingRateLimit.toFixed(3)}/s burst=${i.settings?.throttlingBurstLimit} per method`;
    case "aws:apigateway/usagePlan:UsagePlan":
      return `${i.name} quota=${i.quotaSettings?.limit}/${i.quotaSettings?.period} per key, throttling rate=${i.throttleSettings?.rateLimit}/s burst=${i.throttleSettings?.burstLimit} per key`;
    case "aws:apigateway/apiKey:ApiKey":
      return i.name;
    case "aws:iam/role:Role":
      return i.permissionsBoundary ? `boundary ${i.permissionsBoundary.split("/").pop()}` : "";
    case "aws:cloudwatch/logGroup:LogGroup":
      return `${i.name} retention=${i.retentionInDays}d`;
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return `${i.namespace} ${i.metricName} ${i.statistic} ${i.comparisonOperator} ${i.threshold} over ${i.evaluationPeriods}×${i.period}s missing=${i.treatMissingData} actions→${list(i.alarmActions).map(byArn).join(",")}`;
    case "aws:sns/topicSubscription:TopicSubscription":
      return `${i.protocol} ${i.endpoint}`;
    case "aws:iam/policy:Policy":
    case "aws:iam/rolePolicy:RolePolicy":
      return actions(i.policy);
    case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
      return `attaches ${byArn(i.policyArn)}`;
    case "aws:cloudwatch/dashboard:Dashboard":
      return `${i.dashboardName} (${JSON.parse(i.dashboardBody)
        .widgets.map((w: { properties: { title: string } }) => w.properties.title)
        .join(" | ")})`;
    case "aws:s3/bucket:Bucket":
      return `${r.state.bucket} (created: the stack names no bucket)`;
    default:
      return "";
  }
}

function renderGraph(stack: EvaluatedStack): string {
  const children = new Map<string | undefined, EvaluatedResource[]>();
  for (const r of stack.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  // Registration order varies with timing; sorted output diffs cleanly between two commits.
  for (const kids of children.values()) kids.sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  const lines = [`Stack ${stack.project}/${stack.stack} — Pulumi.${stack.stack}.yaml under mocks; ${stack.resources.length} resources`, ""];
  const walk = (parent: string | undefined, indent: string) => {
    const kids = children.get(parent) ?? [];
    kids.forEach((r, n) => {
      const last = n === kids.length - 1;
      const branch = parent === undefined ? "" : last ? "└─ " : "├─ ";
      const detail = settings(r, stack);
      lines.push(`${indent}${branch}${r.type}  ${r.name}${detail ? `  [${detail}]` : ""}`);
      walk(r.urn, parent === undefined ? indent : indent + (last ? "   " : "│  "));
    });
  };
  walk(undefined, "");
  lines.push("", "Outputs:");
  // Secrets (the API keys) are listed by name only, as `pulumi stack output` shows them.
  for (const [name, value] of Object.entries(stack.outputs))
    lines.push(`  ${name} = ${name === "apiKeys" ? `[secret] ${Object.keys(value as object).join(", ") || "(none)"}` : value}`);
  return lines.join("\n");
}

if (require.main === module) {
  const stackName = process.argv[2];
  if (!stackName || !existsSync(join(REPO_ROOT, `Pulumi.${stackName}.yaml`))) {
    console.error(`usage: npm run graph -- <stack>   (a stack with a Pulumi.<stack>.yaml, e.g. dev or prod)`);
    process.exit(2);
  }
  console.log(renderGraph(evaluateStack(stackName)));
}
