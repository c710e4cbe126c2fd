/**
 * A stack whose apiAuth is apiKey, in the local mode (local/app/api-keys.ts): the picture routes need
 * the x-api-key header and each key gets the daily quota, as the deployed usage plan enforces them,
 * with the deployed gateway's own answers (runtime/api-access.ts). Through the real `npm start`
 * entry point, so the keys reach the banner.
 */
import { strict as assert } from "node:assert";
import { API_KEY_HEADER, GATEWAY_ANSWERS, gatewayAnswerBody } from "../../runtime/api-access";
import { createApiKeyGate } from "../../local/app/api-keys";
import { cleanup, freshEnv, startLocalChild, type LocalChild } from "../../tools/local-child";

const KEY = "webkey0123456789abcdef0123";
const OTHER_KEY = "partnerkey0123456789abcdef";
const QUOTA = 2;

describe("local mode: API keys and the daily quota (apiAuth apiKey)", function () {
  this.timeout(90000);
  let local: LocalChild | undefined;
  before(async () => {
    local = await startLocalChild(
      freshEnv({
        API_AUTH: "apiKey",
        LOCAL_API_KEYS: `web=${KEY},partners=${OTHER_KEY}`,
        API_KEY_DAILY_QUOTA: String(QUOTA),
      }),
    );
  });
  after(() => cleanup(local));

  const post = (path: string, key?: string) =>
    fetch(`${local!.apiUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { [API_KEY_HEADER]: key } : {}) },
      body: JSON.stringify({ prompt: "me on top of a pyramid" }),
    });

  it("prints each key and the quota in the banner", () => {
    assert.match(local!.output(), new RegExp(`api key +web: ${KEY}`));
    assert.match(local!.output(), new RegExp(`api key +partners: ${OTHER_KEY}`));
    assert.match(local!.output(), /x-api-key: <key>'; 2 a day per key/);
  });

  it("refuses a picture route without a key or with an unknown one, with the gateway's 403 body", async () => {
    for (const key of [undefined, "not-a-key-of-this-stack-0000"]) {
      for (const path of ["/generate", "/images"]) {
        const res = await post(path, key);
        assert.equal(res.status, 403, `${path} with ${key}`);
        assert.equal(await res.text(), gatewayAnswerBody(GATEWAY_ANSWERS.invalidApiKey));
      }
    }
  });

  it("lets a key through its quota of pictures a day, then answers the gateway's 429; another key has its own; the status lookup needs none", async () => {
    const ids: string[] = [];
    for (let i = 0; i < QUOTA; i++) {
      const res = await post("/images", KEY);
      assert.equal(res.status, 202, await res.clone().text());
      ids.push(((await res.json()) as { id: string }).id);
    }
    const over = await post("/images", KEY);
    assert.equal(over.status, 429);
    assert.equal(await over.text(), gatewayAnswerBody(GATEWAY_ANSWERS.quotaExceeded));
    assert.equal((await post("/images", OTHER_KEY)).status, 202, "each key counts on its own");
    const status = await fetch(`${local!.apiUrl}/images/${ids[0]}`);
    assert.notEqual(status.status, 403, "GET /images/{id} needs no key");
    assert.ok([200, 202].includes(status.status), String(status.status));
  });

  it("leaves unknown routes and wrong methods to the router's 404 and 405", async () => {
    assert.equal((await fetch(`${local!.apiUrl}/nothing-here`, { method: "POST" })).status, 404);
    assert.equal((await fetch(`${local!.apiUrl}/generate`)).status, 405);
  });
});

describe("local mode: the quota renews each UTC day", () => {
  it("counts per key and day", () => {
    let now = new Date("2026-11-23T23:59:00Z");
    const gate = createApiKeyGate({ keys: { web: KEY }, dailyQuota: 1, now: () => now });
    const headers = { [API_KEY_HEADER]: KEY };
    assert.equal(gate.admit("POST", "/generate", headers), undefined);
    assert.equal(gate.admit("POST", "/generate/", headers), GATEWAY_ANSWERS.quotaExceeded);
    now = new Date("2026-11-24T00:00:01Z");
    assert.equal(gate.admit("POST", "/generate", headers), undefined);
    assert.equal(gate.admit("GET", "/images/abc", {}), undefined, "the status lookup is outside the quota");
  });
});
