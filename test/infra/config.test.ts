import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { DEFAULTS } from "../../runtime/defaults";
import { readStackConfig } from "../../tools/stack-config";
import { candidateOf } from "../../components/names";
import { checkStackSettings, MIN_MAX_RECEIVE_COUNT } from "../../components/settings";
import { readProject, REPO_ROOT, stackConfig } from "../../tools/stack";

const project = readProject();
const schema = project.config;
const stackFile = (stack: string): Record<string, unknown> =>
  YAML.parse(readFileSync(join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")).config;

/** Keys every stack must set (the list). */
const STACK_KEYS = [
  "bucketName",
  "imagePrefix",
  "alarmEmail",
  "alarmAgeThresholdSeconds",
  "modelId",
  "bedrockRegion",
  "apiTimeoutSeconds",
  "apiMemoryMb",
  "workerTimeoutSeconds",
  "workerMemoryMb",
  "queueBatchSize",
  "maxReceiveCount",
  "apiThrottleRateLimit",
  "apiThrottleBurstLimit",
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
        if (entry.type === "array") assert.ok(Array.isArray(entry.default), `${key}: default is not an array`);
        else
          assert.equal(typeof entry.default, entry.type === "integer" ? "number" : entry.type, `${key}: default does not match its type`);
      }
    }
  });

  it("names Pulumi.yaml's default model in the handlers' end-of-life message (a Lambda cannot read Pulumi.yaml)", () => {
    assert.equal(DEFAULTS.suggestedModelId, schema.modelId.default);
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

  it("refuses what the schema's types cannot: maxReceiveCount below AWS's 5, an unknown apiAuth, apiKey without key names", () => {
    // "Verify that the maxReceiveCount attribute is set to at least five" for an SQS event source:
    // https://aws.amazon.com/premiumsupport/knowledge-center/lambda-retrying-valid-sqs-messages/
    assert.equal(MIN_MAX_RECEIVE_COUNT, 5);
    for (const stack of ["dev", "prod"]) {
      const values = readStackConfig(REPO_ROOT, stack).values as any;
      assert.ok(values.maxReceiveCount >= 5, `${stack}: maxReceiveCount ${values.maxReceiveCount}`);
      assert.doesNotThrow(() => checkStackSettings(values));
      assert.throws(() => checkStackSettings({ ...values, maxReceiveCount: 4 }), /config maxReceiveCount must be an integer from 5/);
      assert.throws(() => checkStackSettings({ ...values, apiAuth: "cognito" }), /config apiAuth must be one of none, apiKey/);
      assert.throws(
        () => checkStackSettings({ ...values, apiAuth: "apiKey", apiKeyNames: [] }),
        /config apiKeyNames must name at least one key/,
      );
      assert.throws(() => checkStackSettings({ ...values, apiAuth: "apiKey", apiKeyNames: ["web", "web"] }), /apiKeyNames/);
    }
  });

  it("takes the candidate from imagePrefix's first segment or its own key, which must agree (the boundary reaches <bucket>/<candidate>/ only)", () => {
    assert.equal(candidateOf({ candidate: "", imagePrefix: "candidate-42/dev" }), "candidate-42");
    assert.equal(candidateOf({ candidate: "", imagePrefix: "/candidate-7/" }), "candidate-7");
    assert.equal(candidateOf({ candidate: "candidate-42", imagePrefix: "candidate-42/prod" }), "candidate-42");
    assert.throws(
      () => candidateOf({ candidate: "candidate-7", imagePrefix: "candidate-42/dev" }),
      /imagePrefix must start with the candidate id "candidate-7"/,
    );
    assert.throws(() => candidateOf({ candidate: "", imagePrefix: "Candidate_42/dev" }), /candidate must be 1-32 lowercase letters/);
    assert.throws(() => candidateOf({ candidate: "", imagePrefix: `${"c".repeat(33)}/dev` }), /candidate must be 1-32/);
    assert.throws(() => candidateOf({ candidate: "", imagePrefix: "/" }), /imagePrefix must be a non-empty S3 key prefix/);
  });
});
