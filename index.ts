/**
 * Couch Explorers on AWS: prompts become pictures in S3, now (REST API) or later (SQS worker).
 * Every setting comes from the stack's config, typed once by readStackSettings; each default lives
 * in Pulumi.yaml alone (components/settings.ts says why), and the components take the settings by
 * the keys' own names.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BucketPrefixAccess } from "./components/bucketPrefixAccess";
import { ImageApi } from "./components/imageApi";
import { ImageDashboard } from "./components/imageDashboard";
import { ImageJobs } from "./components/imageJobs";
import { ModelAccess } from "./components/modelAccess";
import { candidateOf } from "./components/names";
import { QueueAgeAlarm } from "./components/queueAgeAlarm";
import { readStackSettings } from "./components/settings";
import { foundationModel, stackIdentity } from "./components/wiring";

const settings = readStackSettings();
// Candidates and their stacks share one account: every name (and the metrics' Service dimension)
// starts with candidate and stack, and every role carries the candidate's permissions boundary.
const identity = stackIdentity(candidateOf(settings));
const name = identity.serviceName;

// Pictures go to the course's shared bucket under this stack's prefix; a stack that names no bucket
// gets a private one of its own, so the program also deploys into a fresh account.
const storage = new BucketPrefixAccess(`${name}-images`, settings);

// The active image models (Stability AI's) run in us-west-2 while everything else is in eu-west-1:
// the model ARN carries its own region, and the model is config so a stack can move off a
// retiring one (npm run model-check tells which state it is in).
// A Marketplace model needs its agreement before the first call; accepting it here means a fresh
// account gets pictures after `pulumi up` alone, and no function exists before the agreement does.
const { model } = new ModelAccess(`${name}-model-access`, {
  ...settings,
  model: foundationModel(settings.modelId, settings.bedrockRegion),
});

// The queue first: the API's POST /images sends to it.
const images = new ImageJobs(`${name}-jobs`, { ...settings, identity, storage, model });

// Keys, quotas and throttling sit in front of the functions and turn most of a flood away before
// a model runs. They are not a hard cost cap: AWS applies usage plan throttling and quotas on a
// best-effort basis and says not to rely on them to control costs
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html);
// the README's "Keys and quotas are not a cost cap" names guards that are (AWS Budgets actions, WAF).
const api = new ImageApi(`${name}-api`, { ...settings, identity, storage, model, queue: images.queue });

// A queue that grows old means pictures arrive late: tell a person by e-mail.
const alarm = new QueueAgeAlarm(`${name}-queue-age`, {
  ...settings,
  queueName: images.queue.name,
  deadLetterQueueName: images.deadLetterQueue.name,
});

// One page that shows whether pictures arrive on time, and why not.
new ImageDashboard(`${name}-overview`, {
  ...settings,
  dashboardName: name,
  serviceName: name,
  region: aws.getRegionOutput().region,
  queueName: images.queue.name,
  deadLetterQueueName: images.deadLetterQueue.name,
  apiName: api.api.name,
  apiStage: api.stage.stageName,
  functionNames: [...Object.values(api.functions), images.worker].map((fn) => fn.function.name),
});

export const apiUrl = api.url;
export const queueUrl = images.queue.url;
export const dlqUrl = images.deadLetterQueue.url;
export const bucketName = storage.bucketName;
export const imagePrefix = storage.prefix;
export const imageLocation = pulumi.interpolate`s3://${storage.bucketName}/${storage.prefix}/`;
export const alarmTopicArn = alarm.topic.arn;
/** Key name → value, with apiAuth apiKey (`pulumi stack output apiKeys --show-secrets`). */
export const apiKeys = api.apiKeys;
