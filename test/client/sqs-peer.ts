// A real SQS protocol peer for the client tests: local-aws-sqs's request handler behind our own
// HTTP server on 127.0.0.1:0, recording each call's operation and entry count on the way in.
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type { ServerResponse } from "node:http";
import { createRequestHandler } from "local-aws-sqs";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { receiveAll } from "../../tools/events";

export interface RecordedSqsCall {
  operation: string;
  entries?: number;
  bodies: string[];
}

export interface SqsPeer {
  endpoint: string;
  calls: RecordedSqsCall[];
  admin: SQSClient;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  drain(queueUrl: string): Promise<{ body: string; messageId: string }[]>;
  /** From now on, batch entries whose body contains `marker` are refused the way SQS reports
   * per-entry failures (in `Failed`, with a code), while the other entries are delivered. */
  refuseEntriesContaining(marker: string | undefined): void;
  close(): Promise<void>;
}

/** Adds SQS's per-entry failure records to the JSON answer local-aws-sqs writes. */
function answerWithRefusals(res: ServerResponse, refused: { Id: string }[]): void {
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  (res as { end: (chunk?: unknown) => ServerResponse }).end = (chunk?: unknown) => {
    const answer = JSON.parse(String(chunk ?? "{}"));
    answer.Failed = [
      ...(answer.Failed ?? []),
      ...refused.map((e) => ({
        Id: e.Id,
        SenderFault: true,
        Code: "InvalidMessageContents",
        Message: "Refused by the test peer",
      })),
    ];
    const text = JSON.stringify(answer);
    res.setHeader("content-length", Buffer.byteLength(text));
    return end(text);
  };
}

export const TEST_CREDENTIALS = { AWS_ACCESS_KEY_ID: "test-key", AWS_SECRET_ACCESS_KEY: "test-secret" };

export async function startSqsPeer(): Promise<SqsPeer> {
  const { service, requestHandler } = createRequestHandler({ port: 0, hostname: "127.0.0.1" });
  const calls: RecordedSqsCall[] = [];
  let refuseMarker: string | undefined;
  const server: Server = createServer((req, res) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const call: RecordedSqsCall = { operation: target.replace(/^AmazonSQS\./, "") || "query", bodies: [] };
      let forwarded = raw;
      let refused: { Id: string }[] = [];
      try {
        const body = JSON.parse(raw);
        if (Array.isArray(body.Entries)) {
          call.entries = body.Entries.length;
          call.bodies = body.Entries.map((e: { MessageBody: string }) => e.MessageBody);
          if (refuseMarker !== undefined) {
            const marker = refuseMarker;
            refused = body.Entries.filter((e: { MessageBody: string }) => e.MessageBody.includes(marker));
            body.Entries = body.Entries.filter((e: { MessageBody: string }) => !e.MessageBody.includes(marker));
            forwarded = JSON.stringify(body);
          }
        } else if (typeof body.MessageBody === "string") call.bodies = [body.MessageBody];
      } catch {
        // not JSON (query protocol): recorded by operation only
      }
      calls.push(call);
      if (refused.length > 0) answerWithRefusals(res, refused);
      // local-aws-sqs reads the body through "data"/"end" events; replay (possibly filtered) body.
      const replay = Object.assign(new PassThrough(), { headers: req.headers, method: req.method, url: req.url });
      void requestHandler(replay as never, res);
      replay.end(forwarded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  service.PORT = port;
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = new SQSClient({
    region: "eu-west-1",
    endpoint,
    credentials: {
      accessKeyId: TEST_CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: TEST_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
    },
  });
  return {
    endpoint,
    calls,
    admin,
    refuseEntriesContaining(marker) {
      refuseMarker = marker;
    },
    async createQueue(name, attributes) {
      const out = await admin.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      return out.QueueUrl!;
    },
    async drain(queueUrl) {
      return (await receiveAll(admin, queueUrl)).map((m) => ({ body: m.Body ?? "", messageId: m.MessageId ?? "" }));
    },
    async close() {
      admin.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
