/**
 * The AWS SDK for CodeArtifact, loaded when a client command runs and not before: it takes longer
 * to load than the rest of `versiongate --help` altogether, so the command definitions (flags,
 * help) import nothing of it but types, and runClientCommand loads it once before running one.
 */
import type * as Sdk from '@aws-sdk/client-codeartifact';

let loaded: typeof Sdk | undefined;

export async function loadSdk(): Promise<typeof Sdk> {
  loaded ??= await import('@aws-sdk/client-codeartifact');
  return loaded;
}

/** The SDK, once loadSdk() has resolved (runClientCommand awaits it before running a command). */
export function sdk(): typeof Sdk {
  if (!loaded) throw new Error('the AWS SDK is used before loadSdk() loaded it');
  return loaded;
}
