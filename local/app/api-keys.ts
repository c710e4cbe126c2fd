/**
 * API keys in the local mode: what the deployed stage's usage plan does for a stack whose apiAuth
 * is apiKey (components/imageApi.ts), done in code: the picture routes need a key in the
 * `x-api-key` header, and each key gets the stack's daily quota, counted per UTC day. The answers
 * are the gateway's own (runtime/api-access.ts). Throttling stays the deployed stage's.
 *
 * Settings come from the dev stack with the rest of the local mode's (local/app/config.ts: API_AUTH
 * overrides apiAuth, API_KEY_DAILY_QUOTA the quota); the key values, which API Gateway generates
 * when deployed, are LOCAL_API_KEYS (`name=value,…`) or made up at startup and printed in the banner.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { API_KEY_HEADER, GATEWAY_ANSWERS, requiresApiKey, type GatewayAnswer } from "../../runtime/api-access";
import type { Env } from "../../runtime/config";
import { pathPattern, ROUTES, type Route } from "../../runtime/routes";
import { LocalConfigError, type LocalConfig } from "./config";

export const API_KEY_ENV = { keys: "LOCAL_API_KEYS" } as const;

export interface ApiKeyGate {
  /** Key name → value, for the banner. */
  keys: Record<string, string>;
  dailyQuota: number;
  /** The gateway's answer when the request may not pass; undefined when it may (and it was counted). */
  admit(method: string, path: string, headers: IncomingHttpHeaders): GatewayAnswer | undefined;
}

/** The gate the stack's settings ask for (loadLocalConfig reads them), or undefined when anyone may call (apiAuth none). */
export function readApiKeyGate(access: LocalConfig["apiAccess"], env: Env = process.env): ApiKeyGate | undefined {
  if (access.auth === "none") return undefined;
  const given = env[API_KEY_ENV.keys]?.trim();
  const keys = given ? parseKeys(given) : Object.fromEntries(access.keyNames.map((name) => [name, randomBytes(20).toString("hex")]));
  return createApiKeyGate({ keys, dailyQuota: access.dailyQuota });
}

function parseKeys(text: string): Record<string, string> {
  const pairs = text.split(",").map((pair) => pair.trim().split("="));
  // API Gateway's key values are 20-128 alphanumeric characters.
  if (!pairs.every(([name, value, ...rest]) => name && /^[A-Za-z0-9]{20,128}$/.test(value ?? "") && rest.length === 0)) {
    throw new LocalConfigError(`${API_KEY_ENV.keys} must be name=value pairs separated by commas, each value 20-128 letters or digits`);
  }
  return Object.fromEntries(pairs);
}

export function createApiKeyGate(opts: {
  keys: Record<string, string>;
  dailyQuota: number;
  routes?: readonly Route[];
  now?: () => Date;
}): ApiKeyGate {
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
