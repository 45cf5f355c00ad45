/**
 * versiongate's `identifier` of a version (what `versiongate resync` and the Cloudsmith-shaped API
 * name it by) is not a member of CodeArtifact's model, so the SDK's deserializer drops it. For the
 * two outputs that carry it (DescribePackageVersion's packageVersion, ListPackageVersions' versions)
 * these middlewares keep it: one below the deserializer reads the answer's JSON as it arrives and
 * hands the bytes on unchanged; one above it copies each identifier into the parsed output.
 */
import type { MetadataBearer } from '@aws-sdk/types';

/** Where in the answer the identifiers are: one object's, or each of a list's. */
export type IdentifierPath = { object: string } | { list: string };

/** What is used of a command's stack (the SDK's overloads per step are more than this needs). */
interface Stack {
  add(middleware: unknown, options: { step: string; priority?: string; name: string }): void;
}

type Raw = Record<string, unknown>;

export function keepIdentifiers<C extends { middlewareStack: unknown }>(command: C, path: IdentifierPath): C {
  const stack = command.middlewareStack as Stack;
  stack.add(
    (next: (args: unknown) => Promise<{ response: { body?: unknown } }>, context: { versiongateRaw?: Raw }) => async (args: unknown) => {
      const result = await next(args);
      const body = result.response.body;
      if (body && typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
        const chunks: Uint8Array[] = [];
        for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(chunk);
        const bytes = Buffer.concat(chunks);
        try {
          context.versiongateRaw = JSON.parse(bytes.toString('utf8')) as Raw;
        } catch {
          // Not JSON: the deserializer reports the answer as it is.
        }
        // The SDK's body collector takes bytes as they are.
        result.response.body = new Uint8Array(bytes);
      }
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'versiongateReadIdentifiers' },
  );
  stack.add(
    (next: (args: unknown) => Promise<{ output: MetadataBearer & Raw }>, context: { versiongateRaw?: Raw }) => async (args: unknown) => {
      const result = await next(args);
      const raw = context.versiongateRaw;
      if (raw) copyIdentifiers(raw, result.output, path);
      return result;
    },
    { step: 'initialize', priority: 'low', name: 'versiongateKeepIdentifiers' },
  );
  return command;
}

function copyIdentifiers(raw: Raw, output: Raw, path: IdentifierPath): void {
  if ('object' in path) {
    const from = raw[path.object] as Raw | undefined;
    const to = output[path.object] as Raw | undefined;
    if (to && typeof from?.identifier === 'string') to.identifier = from.identifier;
    return;
  }
  const from = raw[path.list];
  const to = output[path.list];
  if (!Array.isArray(from) || !Array.isArray(to) || from.length !== to.length) return;
  to.forEach((item: Raw, i) => {
    const identifier = (from[i] as Raw | undefined)?.identifier;
    if (typeof identifier === 'string') item.identifier = identifier;
  });
}
