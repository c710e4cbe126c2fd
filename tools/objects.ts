/** Reading what the handlers wrote to the local S3. */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";

export async function listKeys(s3: S3Client, bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

export async function getObject(s3: S3Client, bucket: string, key: string): Promise<{ body: Buffer; contentType?: string }> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: Buffer.from(await answer.Body!.transformToByteArray()), contentType: answer.ContentType };
}

export async function getJson<T = any>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse((await getObject(s3, bucket, key)).body.toString("utf8")) as T;
}
