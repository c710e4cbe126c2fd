import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { ENV } from "../../runtime/env";
import { receive } from "../../tools/events";
import { startPeers, type Peers, type PeersOptions } from "../../tools/peers";

/** Starts the protocol peers before a suite's tests and stops them after it; `use` is handed them. */
export function withPeers(opts: PeersOptions, use: (peers: Peers) => void): void {
  let started: Peers | undefined;
  before(async () => {
    started = await startPeers(opts);
    use(started);
  });
  after(async () => {
    await started?.stop();
  });
}

/** The peers' handler environment with the SDK retrying at most once more than asked, so failure tests stay quick. */
export function quickRetryEnv(peers: Peers, extra: Record<string, string> = {}): Record<string, string> {
  return { ...peers.env, [ENV.bedrockMaxAttempts]: "1", ...extra };
}

/** Sends `body` to the image queue as it is (a plain-text prompt or a JSON job); the message id. */
export async function sendPrompt(peers: Peers, body: string): Promise<string> {
  return (await peers.sqs.send(new SendMessageCommand({ QueueUrl: peers.queueUrl, MessageBody: body }))).MessageId!;
}

/** Receives until both queues look empty: received messages turn invisible, so the next test starts clean. */
export async function drainQueues(peers: Peers): Promise<void> {
  for (const url of [peers.queueUrl, peers.dlqUrl]) while ((await receive(peers.sqs, url)).length);
}
