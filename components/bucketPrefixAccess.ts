import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PolicyStatement, policyDocument } from "./policy";
import { normalizePrefix } from "../runtime/config";
import { jobMarkerPattern } from "../runtime/keys";

/** Arguments of {@link BucketPrefixAccess}. */
export interface BucketPrefixAccessArgs {
  /**
   * Existing bucket that receives the pictures (the course's shared `pgr301-couch-explorers`).
   * Empty: a private bucket is created, so the program also works in a fresh account.
   */
  bucketName: string;
  /** Key prefix of this stack, e.g. the candidate number; leading and trailing slashes are ignored. */
  imagePrefix: string;
  /**
   * Let `pulumi destroy` delete a bucket this component created even when it holds pictures.
   * Never applies to an existing bucket.
   * @default false
   */
  forceDestroy?: boolean;
}

/**
 * Where pictures live: `s3://<bucket>/<prefix>/…`, and the IAM policies that reach only there.
 * `readPolicy` allows GetObject under the prefix and ListBucket restricted by an `s3:prefix`
 * condition; `writePolicy` allows PutObject under the prefix; `jobMarkerPolicy` allows writing and
 * deleting the pending-job markers only (runtime/keys.ts). Nothing else in the bucket (other
 * candidates' prefixes in the shared bucket) is reachable.
 */
export class BucketPrefixAccess extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  /** The prefix without slashes; keys are `<prefix>/…`. */
  public readonly prefix: string;
  /** Set only when this component created the bucket. */
  public readonly bucket?: aws.s3.Bucket;
  public readonly readPolicy: aws.iam.Policy;
  public readonly writePolicy: aws.iam.Policy;
  /** PutObject and DeleteObject on `<prefix>/images/*.queued.json`: what POST /images writes, and what ends a job. */
  public readonly jobMarkerPolicy: aws.iam.Policy;

  constructor(name: string, args: BucketPrefixAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:BucketPrefixAccess", name, {}, opts);
    const parent = { parent: this };

    const prefix = normalizePrefix(args.imagePrefix);
    if (!prefix) throw new Error(`imagePrefix must be a non-empty S3 key prefix without "*" or "..", got "${args.imagePrefix}"`);
    this.prefix = prefix;

    let bucketArn: pulumi.Output<string>;
    if (args.bucketName) {
      this.bucketName = pulumi.output(args.bucketName);
      const partition = aws.getPartitionOutput({}, parent).partition;
      bucketArn = pulumi.interpolate`arn:${partition}:s3:::${args.bucketName}`;
    } else {
      this.bucket = this.createPrivateBucket(name, args.forceDestroy ?? false);
      this.bucketName = this.bucket.bucket;
      bucketArn = this.bucket.arn;
    }
    const objects = pulumi.interpolate`${bucketArn}/${this.prefix}/*`;

    const read: PolicyStatement[] = [
      { Sid: "ReadPicturesUnderPrefix", Effect: "Allow", Action: ["s3:GetObject"], Resource: objects },
      {
        // GetObject/HeadObject of a missing key answer 404 only to a caller allowed s3:ListBucket,
        // else 403 (HeadObject, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html),
        // and S3 checks that grant with the requested key as s3:prefix, so this condition gives the
        // status lookup its 404s for keys under the prefix only: ceph/s3-tests
        // test_head_object_404_with_policy_prefix (not marked fails_on_aws in a suite also run
        // against AWS), and ceph/ceph#68577, which changed RGW this way "to match aws behavior".
        // The condition also keeps listings inside the prefix.
        Sid: "ListOnlyThePrefix",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: bucketArn,
        Condition: { StringLike: { "s3:prefix": [`${this.prefix}/*`] } },
      },
    ];
    const write: PolicyStatement[] = [{ Sid: "WritePicturesUnderPrefix", Effect: "Allow", Action: ["s3:PutObject"], Resource: objects }];
    this.readPolicy = new aws.iam.Policy(
      `${name}-read`,
      {
        description: pulumi.interpolate`Read s3://${this.bucketName}/${this.prefix}/ only`,
        policy: policyDocument(read),
      },
      parent,
    );
    this.writePolicy = new aws.iam.Policy(
      `${name}-write`,
      {
        description: pulumi.interpolate`Write s3://${this.bucketName}/${this.prefix}/ only`,
        policy: policyDocument(write),
      },
      parent,
    );
    this.jobMarkerPolicy = new aws.iam.Policy(
      `${name}-job-markers`,
      {
        description: pulumi.interpolate`Write and delete the pending-job markers under s3://${this.bucketName}/${this.prefix}/ only`,
        policy: policyDocument([
          {
            Sid: "WriteAndDeleteJobMarkers",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:DeleteObject"],
            Resource: pulumi.interpolate`${bucketArn}/${jobMarkerPattern(this.prefix)}`,
          },
        ]),
      },
      parent,
    );

    this.registerOutputs({ bucketName: this.bucketName, prefix: this.prefix });
  }

  /** A bucket nobody outside the account can read: public access blocked, encrypted, TLS only. */
  private createPrivateBucket(name: string, forceDestroy: boolean): aws.s3.Bucket {
    const parent = { parent: this };
    const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy }, parent);
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      {
        bucket: bucket.id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      parent,
    );
    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: bucket.id,
        policy: policyDocument([
          {
            // A Deny covering every S3 action is how "TLS only" is written; it grants nothing.
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:*"],
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ]),
      },
      { ...parent, dependsOn: [publicAccess] },
    ); // S3 rejects concurrent policy and access-block changes
    return bucket;
  }
}
