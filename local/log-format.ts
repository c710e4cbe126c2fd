/**
 * The handlers write one JSON line per request/record (with CloudWatch EMF metrics). In a terminal
 * that is hard to read, so the local mode prints a compact line instead; LOCAL_LOG=json keeps the
 * raw lines.
 */
import { LOCAL_ENV } from "./config";

const SKIP = new Set(["timestamp", "level", "msg", "_aws", "handler"]);

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
    // Metric values duplicated as top-level EMF members are dropped with their _aws block.
    .filter(([k]) => !/^(GenerationLatency|ImagesGenerated|Failures|FailureKind)$/.test(k))
    .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(" ");
  return `${time}${level} ${fields.msg ?? ""} ${rest}`.trimEnd();
}
