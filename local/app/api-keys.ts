/**
 * API keys in the local mode: what the deployed stage's usage plan does for a stack whose apiAuth
 * is apiKey (components/imageApi.ts), done in code: the picture routes need a key in the
 * `x-api-key` header, and each key gets the stack's daily quota, counted per UTC day. The answers
 * are the gateway's own (runtime/api-access.ts). Throttling stays the deployed stage's.
 *
 * Settings come from the dev stack as the rest of the local mode's (API_AUTH overrides apiAuth,
 * API_KEY_DAILY_QUOTA the quota); the key values, which API Gateway generates when deployed, are
 * LOCAL_API_KEYS (`name=value,…`) or made up at startup and printed in the banner.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import * as path from "node:path";
import {
  API_AUTH_MODES, API_KEY_HEADER, GATEWAY_ANSWERS, requiresApiKey, type ApiAuth, type GatewayAnswer,
} from "../../runtime/api-access";
import type { Env } from "../../runtime/config";
import { pathPattern, ROUTES, type Route } from "../../runtime/routes";
import { readStackConfig } from "../../tools/stack-config";
import { LocalConfigError } from "./config";

export const API_KEY_ENV = { auth: "API_AUTH", keys: "LOCAL_API_KEYS", dailyQuota: "API_KEY_DAILY_QUOTA" } as const;

export interface ApiKeyGate {
  /** Key name → value, for the banner. */
  keys: Record<string, string>;
  dailyQuota: number;
  /** The gateway's answer when the request may not pass; undefined when it may (and it was counted). */
  admit(method: string, path: string, headers: IncomingHttpHeaders): GatewayAnswer | undefined;
}

/** The gate the stack's settings ask for, or undefined when anyone may call (apiAuth none). */
export function readApiKeyGate(env: Env = process.env, root = path.resolve(__dirname, "../..")): ApiKeyGate | undefined {
  const stack = readStackConfig(root, "dev").values;
  const auth = (env[API_KEY_ENV.auth]?.trim() || String(stack.apiAuth)) as ApiAuth;
  if (!API_AUTH_MODES.includes(auth)) throw new LocalConfigError(`apiAuth (${API_KEY_ENV.auth}) must be one of ${API_AUTH_MODES.join(", ")}, got "${auth}"`);
  if (auth === "none") return undefined;
  const dailyQuota = Number(env[API_KEY_ENV.dailyQuota]?.trim() || stack.apiKeyDailyQuota);
  if (!Number.isInteger(dailyQuota) || dailyQuota < 1) throw new LocalConfigError(`apiKeyDailyQuota (${API_KEY_ENV.dailyQuota}) must be a positive integer, got "${dailyQuota}"`);
  const given = env[API_KEY_ENV.keys]?.trim();
  const keys = given ? parseKeys(given) : Object.fromEntries((stack.apiKeyNames as string[]).map((name) => [name, randomBytes(20).toString("hex")]));
  return createApiKeyGate({ keys, dailyQuota });
}

function parseKeys(text: string): Record<string, string> {
  const pairs = text.split(",").map((pair) => pair.trim().split("="));
  // API Gateway's key values are 20-128 alphanumeric characters.
  if (!pairs.every(([name, value, ...rest]) => name && /^[A-Za-z0-9]{20,128}$/.test(value ?? "") && rest.length === 0)) {
    throw new LocalConfigError(`${API_KEY_ENV.keys} must be name=value pairs separated by commas, each value 20-128 letters or digits`);
  }
  return Object.fromEntries(pairs);
}

export function createApiKeyGate(opts: { keys: Record<string, string>; dailyQuota: number; routes?: readonly Route[]; now?: () => Date }): ApiKeyGate {
  const routes = (opts.routes ?? ROUTES).map((route) => ({ route, pattern: pathPattern(route.path).pattern }));
  const valid = new Set(Object.values(opts.keys));
  const used = new Map<string, { day: string; count: number }>();
  const now = opts.now ?? (() => new Date());
  return {
    keys: opts.keys,
    dailyQuota: opts.dailyQuota,
    admit(method, rawPath, headers) {
      const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, "") : rawPath;
      const route = routes.find((r) => r.route.method === method && r.pattern.test(path))?.route;
      if (!route || !requiresApiKey(route, "apiKey")) return undefined;
      const key = headers[API_KEY_HEADER];
      if (typeof key !== "string" || !valid.has(key)) return GATEWAY_ANSWERS.invalidApiKey;
      const day = now().toISOString().slice(0, 10);
      const usage = used.get(key)?.day === day ? used.get(key)! : { day, count: 0 };
      if (usage.count >= opts.dailyQuota) return GATEWAY_ANSWERS.quotaExceeded;
      used.set(key, { day, count: usage.count + 1 });
      return undefined;
    },
  };
}
