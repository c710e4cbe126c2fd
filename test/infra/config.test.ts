import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { readProject, REPO_ROOT, stackConfig } from "../../tools/stack";

const project = readProject();
const schema = project.config;
const stackFile = (stack: string): Record<string, unknown> =>
  YAML.parse(readFileSync(join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")).config;

/** Keys every stack must set (the list). */
const STACK_KEYS = [
  "bucketName", "imagePrefix", "alarmEmail", "alarmAgeThresholdSeconds", "modelId", "bedrockRegion",
  "apiTimeoutSeconds", "apiMemoryMb", "workerTimeoutSeconds", "workerMemoryMb",
  "queueBatchSize", "maxReceiveCount", "apiThrottleRateLimit", "apiThrottleBurstLimit",
];

describe("infra: Pulumi.yaml config schema and stack files", () => {
  it("is a TypeScript Node.js project named couch-explorers", () => {
    const raw = YAML.parse(readFileSync(join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
    assert.equal(raw.name, "couch-explorers");
    assert.equal(raw.runtime.name, "nodejs");
    assert.equal(raw.runtime.options.typescript, true);
  });

  it("types and describes every key", () => {
    assert.ok(Object.keys(schema).length >= STACK_KEYS.length);
    for (const [key, entry] of Object.entries(schema)) {
      assert.ok(["string", "integer", "boolean", "array"].includes(entry.type), `${key}: type ${entry.type}`);
      assert.ok(entry.description && entry.description.length > 10, `${key} has no description`);
      if (entry.default !== undefined) {
        assert.equal(typeof entry.default, entry.type === "integer" ? "number" : entry.type, `${key}: default does not match its type`);
      }
    }
  });

  it("leaves no default where none is sensible (prefix, e-mail); the bucket defaults to empty = create one", () => {
    for (const key of ["imagePrefix", "alarmEmail"]) assert.equal(schema[key].default, undefined, key);
    // Without a default the CLI would demand a value from every stack, and "create a bucket" could never be chosen.
    assert.equal(schema.bucketName.default, "");
  });

  it("requires every declared key without a default, as the Pulumi CLI does", () => {
    assert.throws(() => stackConfig("dev", { "couch-explorers:alarmEmail": null }), /missing configuration value\(s\): alarmEmail/);
    assert.doesNotThrow(() => stackConfig("dev", { "couch-explorers:bucketName": null }));
  });

  for (const stack of ["dev", "prod"]) {
    it(`${stack}: sets aws:region eu-west-1 and the project's keys, all declared in the schema`, () => {
      const config = stackFile(stack);
      assert.equal(config["aws:region"], "eu-west-1");
      for (const key of STACK_KEYS) assert.notEqual(config[`${project.name}:${key}`], undefined, `${stack} does not set ${key}`);
      for (const key of Object.keys(config)) {
        if (key.startsWith(`${project.name}:`)) assert.ok(schema[key.slice(project.name.length + 1)], `${stack} sets undeclared ${key}`);
        else assert.ok(key.startsWith("aws:"), `${stack} sets ${key} of an unexpected namespace`);
      }
      assert.equal(config[`${project.name}:bucketName`], "pgr301-couch-explorers");
      assert.match(String(config[`${project.name}:alarmEmail`]), /^[^@\s]+@[^@\s]+\.[a-z]+$/);
    });
  }

  it("differs between dev and prod where it should: prefix, e-mail, throttling, alarm threshold", () => {
    const dev = stackFile("dev");
    const prod = stackFile("prod");
    const key = (k: string) => `${project.name}:${k}`;
    for (const k of ["imagePrefix", "alarmEmail", "apiThrottleRateLimit", "apiThrottleBurstLimit", "alarmAgeThresholdSeconds"]) {
      assert.notEqual(dev[key(k)], prod[key(k)], `${k} is the same in dev and prod`);
    }
    // prod serves users: it lets more requests through and raises the alarm sooner.
    assert.ok(Number(prod[key("apiThrottleRateLimit")]) > Number(dev[key("apiThrottleRateLimit")]));
    assert.ok(Number(prod[key("alarmAgeThresholdSeconds")]) < Number(dev[key("alarmAgeThresholdSeconds")]));
    // Both prefixes live under the same candidate number, neither inside the other.
    const [devPrefix, prodPrefix] = [String(dev[key("imagePrefix")]), String(prod[key("imagePrefix")])];
    assert.equal(devPrefix.split("/")[0], prodPrefix.split("/")[0]);
    assert.ok(!devPrefix.startsWith(`${prodPrefix}/`) && !prodPrefix.startsWith(`${devPrefix}/`));
  });
});
