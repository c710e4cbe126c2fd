/**
 * Dummy AWS credentials for the local servers (s3rver as set up by local/fakes/object-store.ts,
 * local-aws-sqs and the Bedrock-compatible server accept any key). Never sent anywhere else.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/**
 * The handlers get credentials from the SDK's standard chain, which reads process.env: point it at
 * dummy keys, so no real credential is ever looked up (no profile, SSO or instance metadata) and none
 * is sent to a loopback server.
 */
export function useDummyCredentials(credentials: { accessKeyId: string; secretAccessKey: string } = LOCAL_CREDENTIALS): void {
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}
