/**
 * The unmodified AWS SDK for CodeArtifact pointed at a gateway, with the bearer token set as the
 * README's "Using the AWS SDK" shows. maxAttempts 1: a network error or a reset shows as an error,
 * never hidden by a retry.
 */
import { CodeartifactClient } from '@aws-sdk/client-codeartifact';

export function sdkClient(endpoint: string, token: string): CodeartifactClient {
  const client = new CodeartifactClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' }, maxAttempts: 1 });
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['authorization'] = `Bearer ${token}`;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'versiongateBearerToken' },
  );
  return client;
}
