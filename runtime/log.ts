/**
 * One structured JSON line per HTTP request / SQS record, carrying the EMF metrics of that
 * request (metrics.ts explains why this is hand-written rather than Powertools: archive size).
 *
 * Lines go straight to process.stdout, not console.log: in Lambda, console.log prefixes each
 * line with a timestamp and request id, and EMF requires the log event to be pure JSON.
 */
import { emfFields, type MetricValues } from "./metrics";

/** Receives one finished log line (no trailing newline). */
export type LogSink = (line: string) => void;

const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

export interface LogFields {
  level?: "info" | "warn" | "error";
  msg: string;
  [field: string]: unknown;
}

export interface Logger {
  /** Writes one line: the fields plus, when given, the EMF block for `metrics`. */
  write(fields: LogFields, metrics?: MetricValues): void;
}

/** `service` values the metrics' Service dimension (METRICS_SERVICE). */
export function createLogger(sink: LogSink = stdoutSink, service?: string): Logger {
  return {
    write(fields, metrics) {
      const line = {
        timestamp: new Date().toISOString(),
        level: fields.level ?? "info",
        ...fields,
        ...(metrics ? emfFields(metrics, service) : {}),
      };
      try {
        sink(JSON.stringify(line));
      } catch {
        // Logging must never break a request.
      }
    },
  };
}
