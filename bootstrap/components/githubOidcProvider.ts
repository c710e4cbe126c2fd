import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GITHUB_OIDC_HOST, STS_AUDIENCE } from "./githubTrust";

/** Arguments of {@link GithubOidcProvider}. */
export interface GithubOidcProviderArgs {
  /**
   * ARN of the account's existing provider for `token.actions.githubusercontent.com`. An account
   * holds at most one provider per URL, so a second bootstrap stack in the same account (another
   * candidate) must adopt the first one's instead of creating its own.
   * @default undefined (create the provider)
   */
  existingProviderArn?: string;
}

/**
 * The account's IAM OpenID Connect provider for GitHub Actions, created here or adopted. An adopted
 * provider is checked at preview time: it must be GitHub's issuer and accept the `sts.amazonaws.com`
 * audience, or no role trusting it could ever be assumed.
 */
export class GithubOidcProvider extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;
  /** Set only when this stack created the provider. */
  public readonly provider?: aws.iam.OpenIdConnectProvider;

  constructor(name: string, args: GithubOidcProviderArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers-bootstrap:components:GithubOidcProvider", name, {}, opts);
    const parent = { parent: this };

    if (args.existingProviderArn) {
      const existing = aws.iam.getOpenIdConnectProviderOutput({ arn: args.existingProviderArn }, parent);
      this.arn = pulumi.all([existing.arn, existing.url, existing.clientIdLists]).apply(([arn, url, audiences]) => {
        if (url.replace(/^https:\/\//, "") !== GITHUB_OIDC_HOST) {
          throw new Error(`githubOidcProviderArn ${arn} is the provider for ${url}, not ${GITHUB_OIDC_HOST}`);
        }
        if (!audiences.includes(STS_AUDIENCE)) {
          throw new Error(
            `githubOidcProviderArn ${arn} does not accept the audience ${STS_AUDIENCE} (it has: ${audiences.join(", ") || "none"})`,
          );
        }
        return arn;
      });
    } else {
      // No thumbprint: for GitHub's issuer IAM validates the certificate against its own trusted
      // CAs and ignores any configured thumbprint (@pulumi/aws 7 OpenIdConnectProviderArgs.thumbprintLists).
      this.provider = new aws.iam.OpenIdConnectProvider(
        `${name}-provider`,
        {
          url: `https://${GITHUB_OIDC_HOST}`,
          clientIdLists: [STS_AUDIENCE],
        },
        parent,
      );
      this.arn = this.provider.arn;
    }
    this.registerOutputs({ arn: this.arn });
  }
}
