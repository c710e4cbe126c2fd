/**
 * Faults through the whole local pipeline: the model fails a share of calls transiently and some
 * permanently, plus deterministic per-prompt failures. Every message must end exactly once as a
 * picture, a permanent failure record, or a dead-letter message; a dead-letter message also has a
 * (transient) failure record, written on its last delivery so its status reads "failed".
 */
import { strict as assert } from "node:assert";
import { GetQueueAttributesCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { receiveAll } from "../../tools/events";
import { cleanup, freshEnv, getJson, listKeys, startLocalChild, waitFor, type LocalChild } from "../../tools/local-child";

const N = 30;

describe("local mode: transient and permanent model failures", function () {
  this.timeout(180000);
  let local: LocalChild | undefined;

  before(async () => {
    local = await startLocalChild(
      freshEnv({
        LOCAL_MODEL_TRANSIENT_FAILURE_RATE: "0.3",
        LOCAL_MODEL_PERMANENT_FAILURE_RATE: "0.1",
        LOCAL_MODEL_FAIL_WHEN_PROMPT_INCLUDES: "[always-throttle]=throttle,[blocked]=content-filter",
        // 6 s: the shortest that leaves the 2 attempts 1 s each (see queueModelBudget in local/app/config.ts).
        LOCAL_VISIBILITY_TIMEOUT_SECONDS: "6",
        MAX_RECEIVE_COUNT: "2",
        BEDROCK_MAX_ATTEMPTS: "2",
      }),
    );
  });
  after(() => cleanup(local));

  it(`accounts for all ${N} messages: pictures + failure records + DLQ messages, no duplicates`, async () => {
    const { bucket, prefix, queueUrl, dlqUrl } = local!.health;
    const bodies = Array.from({ length: N }, (_, i) =>
      i % 10 === 3 ? `desert pyramid ${i} [always-throttle]` : i % 10 === 7 ? `city at night ${i} [blocked]` : `postcard ${i} from the sea`,
    );
    const sent = new Map<string, string>(); // messageId → body
    for (let i = 0; i < N; i += 10) {
      const out = await local!.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: bodies.slice(i, i + 10).map((b, n) => ({ Id: String(n), MessageBody: b })),
        }),
      );
      assert.equal(out.Failed?.length ?? 0, 0);
      for (const s of out.Successful!) sent.set(s.MessageId!, bodies[i + Number(s.Id)]);
    }
    assert.equal(sent.size, N);

    // Settled: the source queue is empty (nothing visible, in flight or delayed) and every
    // message is accounted for somewhere.
    const settle = async () => {
      const { Attributes: a = {} } = await local!.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }));
      const inQueue =
        Number(a.ApproximateNumberOfMessages) +
        Number(a.ApproximateNumberOfMessagesNotVisible) +
        Number(a.ApproximateNumberOfMessagesDelayed);
      if (inQueue !== 0) return undefined;
      const dlq = await local!.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
      );
      const keys = await listKeys(local!.s3, bucket, `${prefix}/images/`);
      const pictures = keys.filter((k) => k.endsWith(".png"));
      const failures = keys.filter((k) => k.endsWith(".failed.json"));
      const kinds = await Promise.all(failures.map(async (k) => (await getJson(local!.s3, bucket, k)).kind as string));
      const permanent = failures.filter((_, i) => kinds[i] === "permanent");
      const transient = failures.filter((_, i) => kinds[i] === "transient");
      return pictures.length + permanent.length + Number(dlq.Attributes!.ApproximateNumberOfMessages) >= N
        ? { pictures, permanent, transient }
        : undefined;
    };
    const { pictures, permanent, transient } = await waitFor("every message to settle", settle, 150000, 250);

    const dlqIds: string[] = [];
    for (const m of await receiveAll(local!.sqs, dlqUrl, { visibilityTimeoutSeconds: 300 })) {
      dlqIds.push(m.MessageId!);
      assert.equal(m.Body, sent.get(m.MessageId!), "a DLQ message keeps its id and body");
    }
    const pictureIds = pictures.map((k) => k.slice(`${prefix}/images/`.length, -".png".length));
    const idOf = (k: string) => k.slice(`${prefix}/images/`.length, -".failed.json".length);
    const failureIds = permanent.map(idOf);
    const all = [...pictureIds, ...failureIds, ...dlqIds];

    assert.equal(all.length, N, `pictures ${pictureIds.length} + permanent failures ${failureIds.length} + DLQ ${dlqIds.length}`);
    assert.equal(new Set(all).size, N, "no message ends in two places");
    assert.deepEqual([...all].sort(), [...sent.keys()].sort(), "exactly the messages sent");
    assert.deepEqual(
      transient.map(idOf).sort(),
      [...dlqIds].sort(),
      "each dead letter has a failure record, and only they have transient ones",
    );

    // The deterministic failures ended where they must.
    for (const [id, body] of sent) {
      if (body.includes("[always-throttle]")) assert.ok(dlqIds.includes(id), `${body} is in the DLQ`);
      if (body.includes("[blocked]")) {
        assert.ok(failureIds.includes(id), `${body} has a failure record`);
        const record = await getJson(local!.s3, bucket, `${prefix}/images/${id}.failed.json`);
        assert.equal(record.kind, "permanent");
        assert.equal(record.prompt, body);
      }
    }
    // Every picture has its sidecar with the message's own prompt.
    for (const id of pictureIds) assert.equal((await getJson(local!.s3, bucket, `${prefix}/images/${id}.json`)).prompt, sent.get(id));
  });
});
