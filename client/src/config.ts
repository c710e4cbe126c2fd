/**
 * Where to send: the queue URL and the SQS client settings derived from the environment.
 */
import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";
import { CliError, EXIT } from "./errors";

export type Env = Record<string, string | undefined>;

/** The original Java client's fixed region; now only the default. */
export const DEFAULT_REGION = "eu-west-1";

export interface QueueUrl {
  url: string;
  /** Region named by an AWS queue URL's host; undefined for other hosts (local mode). */
  region?: string;
  isAws: boolean;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}(\.fifo)?$/;
const ACCOUNT_ID = /^\d{12}$/;
// sqs.<region>.amazonaws.com, vpce-….sqs.<region>.vpce.amazonaws.com, <region>.queue.amazonaws.com (legacy)
const AWS_SQS_HOST = /(?:^|\.)sqs\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;
const AWS_LEGACY_HOST = /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/;
const EXPECTED = "expected https://sqs.<region>.amazonaws.com/<12-digit account>/<queue name>";

/** Validates a queue URL before any call, so a typo is a config error and not an AWS round trip. */
export function parseQueueUrl(raw: string): QueueUrl {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new CliError(`SQS_QUEUE_URL is not a URL: "${raw}" (${EXPECTED}).`, EXIT.config);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new CliError(`SQS_QUEUE_URL must be http(s), got ${url.protocol} (${EXPECTED}).`, EXIT.config);
  }
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const [account, name] = segments.slice(-2);
  if (segments.length < 2 || !ACCOUNT_ID.test(account) || !QUEUE_NAME.test(name)) {
    throw new CliError(`SQS_QUEUE_URL has no <account>/<queue name> path: "${raw}" (${EXPECTED}).`, EXIT.config);
  }
  const host = url.hostname.toLowerCase();
  const isAws = /\.amazonaws\.com(\.cn)?$/.test(host);
  if (isAws && url.protocol !== "https:") {
    throw new CliError(`SQS_QUEUE_URL must use https for AWS: "${raw}".`, EXIT.config);
  }
  if (isAws && segments.length !== 2) {
    throw new CliError(`SQS_QUEUE_URL has extra path segments: "${raw}" (${EXPECTED}).`, EXIT.config);
  }
  const region =
    AWS_SQS_HOST.exec(host)?.[1] ?? AWS_LEGACY_HOST.exec(host)?.[1] ?? (host === "queue.amazonaws.com" ? "us-east-1" : undefined);
  if (isAws && !region) {
    throw new CliError(`SQS_QUEUE_URL is not an SQS host: "${url.hostname}" (${EXPECTED}).`, EXIT.config);
  }
  return { url: url.toString(), region, isAws };
}

function endpointOverride(env: Env): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "").toLowerCase() === "true") return undefined;
  const value = env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL;
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return value;
  } catch {
    // fall through to the error below
  }
  const name = env.AWS_ENDPOINT_URL_SQS ? "AWS_ENDPOINT_URL_SQS" : "AWS_ENDPOINT_URL";
  throw new CliError(`${name} is not an http(s) URL: "${value}".`, EXIT.config);
}

export interface ClientSettings {
  queue: QueueUrl;
  config: SQSClientConfig;
}

/**
 * Reads SQS_QUEUE_URL, region, endpoint and (static) credentials from `env`.
 *
 * - Region: an AWS queue URL names its region, and signing for any other region fails, so that
 *   one wins; otherwise AWS_REGION, default eu-west-1.
 * - Endpoint: the SDK itself resolves AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL, but its SQS
 *   queue-URL middleware then replaces that endpoint with the queue URL's host whenever the two
 *   differ. An explicit override must win, so it is passed as `endpoint`. A non-AWS queue URL
 *   (the local mode) is its own endpoint.
 * - Credentials: keys in `env` are passed explicitly (so `env` fully describes a run, as in
 *   tests); without them — or with AWS_PROFILE set, as the SDK's chain does — the standard
 *   provider chain (profiles, SSO, container and instance roles) applies.
 */
export function clientSettings(env: Env): ClientSettings {
  const rawUrl = env.SQS_QUEUE_URL;
  if (rawUrl === undefined || rawUrl.trim() === "") {
    throw new CliError(
      "SQS_QUEUE_URL is not set. Export the queue URL, e.g. " +
        "SQS_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/image-queue",
      EXIT.config,
    );
  }
  const queue = parseQueueUrl(rawUrl);
  const endpoint = endpointOverride(env) ?? (queue.isAws ? undefined : new URL(queue.url).origin);
  const config: SQSClientConfig = {
    region: queue.region ?? (env.AWS_REGION || DEFAULT_REGION),
    ...(endpoint ? { endpoint } : {}),
    // Fail fast on an unreachable host instead of hanging; the SDK still retries (3 attempts).
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  };
  if (!env.AWS_PROFILE && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return { queue, config };
}

/** Factory, so no client exists at module load. */
export function createSqsClient(settings: ClientSettings): SQSClient {
  return new SQSClient(settings.config);
}
