/**
 * Who may call the API and what the gateway itself answers: the one home of the rule both the
 * deployed API (components/imageApi.ts, as API Gateway settings and gateway responses) and the
 * local mode (local/app/api-keys.ts, in code) follow. No AWS SDK, no Pulumi.
 */
import type { Permission } from "./routes";

/** `none`: anyone may call (the exam's open endpoint); `apiKey`: the picture routes need a key. */
export const API_AUTH_MODES = ["none", "apiKey"] as const;
export type ApiAuth = (typeof API_AUTH_MODES)[number];

/** The header API Gateway reads a REST API's key from (apiKeySource HEADER). */
export const API_KEY_HEADER = "x-api-key";

/** What a route's function may do that costs a picture: invoking the model now or queueing a job for it. */
const SPENDS_PICTURES: readonly Permission[] = ["invoke-model", "send-jobs"];

/**
 * Whether a route needs a key. Only the routes that make pictures do: a key's daily quota counts
 * every request to a route that needs a key, so it is a quota of pictures only if the status
 * lookup (polled while a job waits, and answering only for a job id the caller was given) stays
 * outside it.
 */
export function requiresApiKey(route: { permissions: readonly Permission[] }, auth: ApiAuth): boolean {
  return auth === "apiKey" && route.permissions.some((p) => SPENDS_PICTURES.includes(p));
}

/** A key's daily quota, as the usage plan takes it: a whole number of pictures, at least one. */
export function isDailyQuota(value: number): boolean {
  return Number.isInteger(value) && value >= 1;
}

/** An answer the gateway gives before any function runs, in the API's `{"error","code"}` shape. */
export interface GatewayAnswer {
  statusCode: number;
  code: string;
  error: string;
  headers?: Record<string, string>;
}

/**
 * Seconds a throttled caller is told to wait: our hint, not an AWS value. API Gateway throttles with
 * a token bucket whose rate is requests per second
 * ("Throttle requests to your REST APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html)
 * and documents no Retry-After of its own; a second is when the next token is due at a rate of 1/s.
 */
const THROTTLE_RETRY_AFTER_SECONDS = 1;

export const GATEWAY_ANSWERS = {
  /** No key, or one that is not in the stack's usage plan (API Gateway's INVALID_API_KEY, components/imageApi.ts). */
  invalidApiKey: {
    statusCode: 403,
    code: "invalid-api-key",
    error: `this route needs a valid API key in the ${API_KEY_HEADER} header`,
  },
  /**
   * The key used its daily quota (usage plan quota, period DAY). AWS documents the periods (DAY,
   * WEEK, MONTH: https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html) but not
   * the hour a day starts, so the answer does not name one; the local mode counts UTC days.
   */
  quotaExceeded: {
    statusCode: 429,
    code: "quota-exceeded",
    error: "this API key has used its daily quota of pictures; try again tomorrow",
  },
  /** Over the stage's or the key's rate or burst. */
  throttled: {
    statusCode: 429,
    code: "throttled",
    error: "too many requests; retry in a moment",
    headers: { "retry-after": String(THROTTLE_RETRY_AFTER_SECONDS) },
  },
  /** The gateway itself failed (a 5xx no function answered). */
  gatewayError: {
    statusCode: 502,
    code: "gateway-error",
    error: "the API gateway could not answer this request; try again later",
  },
} satisfies Record<string, GatewayAnswer>;

type RouteLine = { method: string; path: string };
const listed = (routes: readonly RouteLine[]) => routes.map((r) => `${r.method} ${r.path}`).join(", ");

/**
 * A path no route has, worded once for the router (which names the `request`, e.g. "GET /x") and
 * the gateway's answers (which cannot).
 */
export function notFoundAnswer(routes: readonly RouteLine[], request?: string): GatewayAnswer {
  return {
    statusCode: 404,
    code: "not-found",
    error: `no such route${request ? ` for ${request}` : ""}; routes: ${listed(routes)}`,
  };
}

/** A route's path with a method it does not have, worded once for the router, the gateway and the local mode. */
export function methodNotAllowedAnswer(path: string, allowed: readonly string[], method = "this method"): GatewayAnswer {
  const allow = allowed.join(", ");
  return {
    statusCode: 405,
    code: "method-not-allowed",
    error: `${method} is not allowed on ${path}; use ${allow}`,
    headers: { allow },
  };
}

/** The JSON body of an answer. */
export function gatewayAnswerBody(answer: GatewayAnswer): string {
  return JSON.stringify({ error: answer.error, code: answer.code });
}
