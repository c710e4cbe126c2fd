/**
 * The handlers write one JSON line per request/record (with CloudWatch EMF metrics). In a terminal
 * that is hard to read, so the local mode prints a compact line instead; LOCAL_LOG=json keeps the
 * raw lines.
 */
import { METRICS } from "../../runtime/metric-names";
import { LOCAL_ENV } from "./config";

/**
 * Fields not printed: the line's frame, and the metric values EMF repeats as top-level members
 * (they go with their _aws block).
 */
const SKIP = new Set([
  "timestamp",
  "level",
  "msg",
  "_aws",
  "handler",
  METRICS.generationLatency.name,
  METRICS.imagesGenerated.name,
  METRICS.failures.name,
  METRICS.failures.dimension,
]);

export function formatLogLine(line: string, env: Record<string, string | undefined> = process.env): string {
  if (env[LOCAL_ENV.log] === "json") return line;
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(line);
  } catch {
    return line;
  }
  if (!fields || typeof fields !== "object") return line;
  const time = typeof fields.timestamp === "string" ? fields.timestamp.slice(11, 19) : "";
  const level = fields.level && fields.level !== "info" ? ` ${String(fields.level).toUpperCase()}` : "";
  const rest = Object.entries(fields)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined && v !== null && (typeof v !== "object" || Array.isArray(v)))
    .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(" ");
  return `${time}${level} ${fields.msg ?? ""} ${rest}`.trimEnd();
}
