/**
 * The gallery in a real browser: headless Chromium from npm (test/support/browser.ts) opens the
 * page served by `npm start`, submits prompts both ways and sees the new pictures appear.
 */
import { strict as assert } from "node:assert";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Browser } from "playwright-core";
import { readStackConfig } from "../../tools/stack-config";
import { adapterFor } from "../../runtime/models";
import { launchChromium } from "../support/browser";
import { cleanup, freshEnv, REPO_ROOT, startLocalChild, type LocalChild } from "../../tools/local-child";

/** The few members of an <img> read here (the project compiles without the DOM lib). */
interface Img {
  complete: boolean;
  naturalWidth: number;
  src: string;
  addEventListener(type: "load", f: () => void): void;
}

describe("local mode: the gallery in headless Chromium", function () {
  this.timeout(120000);
  let local: LocalChild | undefined;
  let browser: Browser | undefined;

  before(async () => {
    // Prompts with "[held]" are throttled every time: they stay in the queue, retried. One try per
    // delivery (BEDROCK_MAX_ATTEMPTS=1), so the stop at the end need not wait out the SDK's backoff.
    // The model takes 6 s: long enough for the page to draw a queued job's pending card before
    // its picture exists, even on a loaded machine (with 0.5 s, and once with 2.5 s, the worker
    // finished first, and a job already done rightly never shows as pending).
    local = await startLocalChild(
      freshEnv({ BEDROCK_MAX_ATTEMPTS: "1", LOCAL_MODEL_LATENCY_MS: "6000", LOCAL_MODEL_FAIL_WHEN_PROMPT_INCLUDES: "[held]=throttle" }),
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await cleanup(local);
  });

  it("'generate now' shows the new picture with its prompt", async () => {
    const page = await browser!.newPage();
    await page.goto(`${local!.apiUrl}/`);
    await page.waitForSelector(".empty"); // a fresh bucket: the "no pictures yet" hint
    const prompt = "me at the Eiffel tower at sunset";
    await page.fill("#prompt", prompt);
    await page.click("#generate");
    const card = page.locator(".card:not(.pending)", { hasText: prompt });
    await card.waitFor({ timeout: 30000 });
    const img = card.locator("img");
    await img.evaluate((el: Img) =>
      el.complete && el.naturalWidth ? null : new Promise<void>((r) => el.addEventListener("load", () => r())),
    );
    assert.equal(await img.evaluate((el: Img) => el.naturalWidth), 1024, "Stable Image Core's 1:1 picture");
    assert.equal(await page.locator("#pictures-count").textContent(), "1");
    assert.equal(await card.locator(".source").textContent(), "via Generate now", "where it came from, not a status");
    assert.equal(await page.locator("#pager").isHidden(), true, "one page: no pager");
    await page.close();
  });

  it("'queue it' shows a pending card that turns into the picture", async () => {
    const page = await browser!.newPage();
    await page.goto(`${local!.apiUrl}/`);
    const prompt = "snowy mountain village, polaroid";
    await page.fill("#prompt", prompt);
    await page.click("#queue");
    await page.locator(".card.pending", { hasText: prompt }).waitFor({ timeout: 15000 });
    const card = page.locator(".card:not(.pending)", { hasText: prompt });
    await card.waitFor({ timeout: 30000 });
    await page.locator(".card.pending").waitFor({ state: "detached", timeout: 15000 });
    assert.equal(await card.locator(".source").textContent(), "via queue");
    assert.ok(await card.locator("img").evaluate((el: Img) => new URL(el.src).searchParams.get("key")?.includes("/images/")));
    await page.close();
  });

  it("shows jobs sent to the queue outside the gallery (SDK, aws sqs send-message) as pending", async () => {
    const prompt = "sent straight to the queue [held]";
    await local!.sqs.send(new SendMessageCommand({ QueueUrl: local!.health.queueUrl, MessageBody: prompt }));
    const page = await browser!.newPage(); // a fresh page: nothing of this job in its storage
    await page.goto(`${local!.apiUrl}/`);
    await page.locator(".card.pending", { hasText: prompt }).waitFor({ timeout: 15000 });
    assert.equal(await page.locator(".card:not(.pending)", { hasText: prompt }).count(), 0);
    assert.equal(
      await page.locator("#prompt").getAttribute("maxlength"),
      String(adapterFor(String(readStackConfig(REPO_ROOT, "dev").values.modelId)).maxPromptLength),
    );
    await page.close();
  });
});
