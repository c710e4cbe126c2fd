import { strict as assert } from "node:assert";
import { inflateSync } from "node:zlib";
import type { Browser } from "playwright-core";
import { crc32, decodePng, encodePng, PNG_SIGNATURE, readPngHeader } from "../../local/fakes/png";
import { launchChromium } from "../support/browser";

/** An opaque test pattern: every pixel different, so row/column mix-ups show. */
function pattern(width: number, height: number): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      rgba[i] = (x * 37 + y * 11) & 0xff;
      rgba[i + 1] = (y * 53 + 7) & 0xff;
      rgba[i + 2] = (x * y * 13 + 101) & 0xff;
      rgba[i + 3] = 255;
    }
  }
  return rgba;
}

/** The chunks of a PNG file, read with plain offsets (independent of the module's decoder). */
function chunks(png: Buffer): Array<{ type: string; data: Buffer; crc: number; crcInput: Buffer }> {
  const out = [];
  for (let pos = 8; pos < png.length;) {
    const len = png.readUInt32BE(pos);
    out.push({
      type: png.toString("latin1", pos + 4, pos + 8),
      data: png.subarray(pos + 8, pos + 8 + len),
      crc: png.readUInt32BE(pos + 8 + len),
      crcInput: png.subarray(pos + 4, pos + 8 + len),
    });
    pos += 12 + len;
  }
  return out;
}

describe("local/png", () => {
  it("computes the standard CRC-32 check values", () => {
    assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
    assert.equal(crc32(Buffer.from("IEND")), 0xae426082); // the CRC every PNG ends with
    assert.equal(crc32(Buffer.alloc(0)), 0);
  });

  it("encodes signature, IHDR, IDAT and IEND whose CRCs verify and whose IDAT inflates to the scanlines", () => {
    const width = 7;
    const height = 5;
    const rgba = pattern(width, height);
    const png = encodePng(width, height, rgba);
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    const list = chunks(png);
    assert.deepEqual(
      list.map((c) => c.type),
      ["IHDR", "IDAT", "IEND"],
    );
    for (const c of list) assert.equal(c.crc, crc32(c.crcInput), `CRC of ${c.type}`);
    const ihdr = list[0].data;
    assert.equal(ihdr.readUInt32BE(0), width);
    assert.equal(ihdr.readUInt32BE(4), height);
    assert.deepEqual([...ihdr.subarray(8)], [8, 6, 0, 0, 0]);
    const raw = inflateSync(list[1].data);
    assert.equal(raw.length, (width * 4 + 1) * height);
    for (let y = 0; y < height; y++) {
      const line = raw.subarray(y * (width * 4 + 1), (y + 1) * (width * 4 + 1));
      assert.equal(line[0], 0, "filter byte");
      assert.deepEqual(line.subarray(1), rgba.subarray(y * width * 4, (y + 1) * width * 4), `row ${y}`);
    }
  });

  it("decodes, by pngjs (an independent decoder), to the RGBA it was given: any size, any alpha", () => {
    for (const [width, height] of [
      [33, 17],
      [1, 1],
      [1, 40],
      [300, 1],
    ]) {
      const rgba = pattern(width, height);
      for (let i = 3; i < rgba.length; i += 4) rgba[i] = (i * 29) & 0xff;
      const decoded = decodePng(encodePng(width, height, rgba));
      assert.equal(decoded.width, width);
      assert.equal(decoded.height, height);
      assert.deepEqual(decoded.rgba, rgba, `${width}x${height}`);
    }
  });

  it("rejects RGBA data of the wrong length and impossible sizes", () => {
    assert.throws(() => encodePng(2, 2, Buffer.alloc(15)), /expected 16 bytes/);
    assert.throws(() => encodePng(0, 2, Buffer.alloc(0)), /invalid PNG size/);
  });

  it("readPngHeader reads the size and refuses what is not a well-formed PNG header", () => {
    const png = encodePng(300, 20, pattern(300, 20));
    assert.deepEqual(readPngHeader(png), { width: 300, height: 20 });
    assert.equal(readPngHeader(Buffer.from("definitely not a PNG, just text here")), undefined);
    assert.equal(readPngHeader(png.subarray(0, 20)), undefined, "truncated");
    const badCrc = Buffer.from(png);
    badCrc[17] ^= 0xff; // width byte changed, CRC no longer matches
    assert.equal(readPngHeader(badCrc), undefined);
    const badSig = Buffer.from(png);
    badSig[1] = 0x51;
    assert.equal(readPngHeader(badSig), undefined);
  });

  it("decodePng reports a corrupted chunk", () => {
    const png = Buffer.from(encodePng(4, 4, pattern(4, 4)));
    png[png.length - 20] ^= 0x55; // inside IDAT
    assert.throws(() => decodePng(png), /bad CRC in IDAT/);
  });

  describe("against an independent PNG implementation (headless Chromium)", function () {
    this.timeout(60000);
    let browser: Browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
    });

    it("Chromium decodes our PNG to exactly the encoded pixels", async () => {
      const width = 40;
      const height = 24;
      const rgba = pattern(width, height);
      const page = await browser.newPage();
      const pixels: number[] = await page.evaluate(
        async (dataUrl) => {
          const dom = globalThis as any; // runs in the browser; the project compiles without the DOM lib
          const img = new dom.Image();
          img.src = dataUrl;
          await img.decode();
          const canvas = dom.document.createElement("canvas");
          canvas.width = img.width;
          canvas.height = img.height;
          const ctx = canvas.getContext("2d");
          ctx.drawImage(img, 0, 0);
          return Array.from(ctx.getImageData(0, 0, img.width, img.height).data);
        },
        `data:image/png;base64,${encodePng(width, height, rgba).toString("base64")}`,
      );
      await page.close();
      assert.equal(pixels.length, rgba.length);
      assert.deepEqual(Buffer.from(pixels), rgba);
    });

    it("our decoder reads Chromium's filtered PNG to the pixels Chromium drew", async () => {
      const page = await browser.newPage();
      const out: { url: string; data: number[] } = await page.evaluate(() => {
        const canvas = (globalThis as any).document.createElement("canvas");
        canvas.width = 64;
        canvas.height = 48;
        const ctx = canvas.getContext("2d");
        const g = ctx.createLinearGradient(0, 0, 64, 48);
        g.addColorStop(0, "#ff8000");
        g.addColorStop(1, "#0040c0");
        ctx.fillStyle = g;
        ctx.fillRect(0, 0, 64, 48);
        ctx.fillStyle = "#22aa44";
        ctx.beginPath();
        ctx.arc(30, 20, 12, 0, Math.PI * 2);
        ctx.fill();
        return { url: canvas.toDataURL("image/png"), data: Array.from(ctx.getImageData(0, 0, 64, 48).data) };
      });
      await page.close();
      const png = Buffer.from(out.url.split(",")[1], "base64");
      const idat = Buffer.concat(
        chunks(png)
          .filter((c) => c.type === "IDAT")
          .map((c) => c.data),
      );
      const raw = inflateSync(idat);
      const stride = (raw.length / 48) | 0;
      const filters = new Set(Array.from({ length: 48 }, (_, y) => raw[y * stride]));
      assert.ok(
        [...filters].some((f) => f !== 0),
        `Chromium used scanline filters ${[...filters]}: the unfiltering is exercised`,
      );
      const decoded = decodePng(png);
      assert.equal(decoded.width, 64);
      assert.equal(decoded.height, 48);
      assert.deepEqual(decoded.rgba, Buffer.from(out.data));
    });
  });
});
