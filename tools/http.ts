/** Invoking the HTTP handler the way API Gateway would, and reading its JSON answer. */
import type { APIGatewayProxyResult } from "aws-lambda";
import type { HttpHandler, InvocationClock } from "../runtime";
import { httpApiEvent, restEvent, type HttpRequest } from "./events";

export type PayloadFormat = "rest-1.0" | "http-2.0";
export const PAYLOAD_FORMATS: PayloadFormat[] = ["http-2.0", "rest-1.0"];

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  json: any;
  raw: APIGatewayProxyResult;
}

export async function invoke(
  handler: HttpHandler,
  req: HttpRequest,
  format: PayloadFormat = "http-2.0",
  context?: InvocationClock,
): Promise<HttpAnswer> {
  const raw = await handler(format === "rest-1.0" ? restEvent(req) : httpApiEvent(req), context);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (headers["content-type"] !== "application/json") throw new Error(`answer is not JSON: ${headers["content-type"]}`);
  return { status: raw.statusCode, headers, json: JSON.parse(raw.body), raw };
}
