/**
 * versiongate's own members of a version are not in CodeArtifact's model, so the SDK's deserializer
 * drops them: `identifier` (what `versiongate resync` and the Cloudsmith-shaped API name a version by),
 * and, in a listing asked with `include`, `publishedTime` and `sync`. For the two outputs that carry
 * them (DescribePackageVersion's packageVersion, ListPackageVersions' versions) these middlewares keep
 * them: one below the deserializer reads the answer's JSON as it arrives and hands the bytes on
 * unchanged; one above it copies each member into the parsed output (publishedTime as a Date, as the
 * SDK makes DescribePackageVersion's).
 *
 * `withInclude` adds ListPackageVersions' `include` query parameter, which the SDK's model lacks.
 */
import type { MetadataBearer } from '@aws-sdk/types';

/** Where in the answer the identifiers are: one object's, or each of a list's. */
export type IdentifierPath = { object: string } | { list: string };

/** What is used of a command's stack (the SDK's overloads per step are more than this needs). */
interface Stack {
  add(middleware: unknown, options: { step: string; priority?: string; name: string }): void;
}

type Raw = Record<string, unknown>;

export function keepExtensions<C extends { middlewareStack: unknown }>(command: C, path: IdentifierPath): C {
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
    { step: 'deserialize', priority: 'low', name: 'versiongateReadExtensions' },
  );
  stack.add(
    (next: (args: unknown) => Promise<{ output: MetadataBearer & Raw }>, context: { versiongateRaw?: Raw }) => async (args: unknown) => {
      const result = await next(args);
      const raw = context.versiongateRaw;
      if (raw) copyExtensions(raw, result.output, path);
      return result;
    },
    { step: 'initialize', priority: 'low', name: 'versiongateKeepExtensions' },
  );
  return command;
}

function copyExtensions(raw: Raw, output: Raw, path: IdentifierPath): void {
  if ('object' in path) {
    const from = raw[path.object] as Raw | undefined;
    const to = output[path.object] as Raw | undefined;
    if (from && to) copyMembers(from, to);
    return;
  }
  const from = raw[path.list];
  const to = output[path.list];
  if (!Array.isArray(from) || !Array.isArray(to) || from.length !== to.length) return;
  to.forEach((item: Raw, i) => {
    const source = from[i] as Raw | undefined;
    if (source) copyMembers(source, item);
  });
}

/** versiongate's members of one version, from the answer's JSON to the SDK's output. */
function copyMembers(from: Raw, to: Raw): void {
  if (typeof from.identifier === 'string') to.identifier = from.identifier;
  if (typeof from.publishedTime === 'number' && to.publishedTime === undefined) to.publishedTime = new Date(from.publishedTime * 1000);
  if (from.sync !== null && typeof from.sync === 'object') to.sync = from.sync;
}

/** ListPackageVersions' `include` (versiongate's extension), added to the request's query. */
export function withInclude<C extends { middlewareStack: unknown }>(command: C, include: string | undefined): C {
  if (include === undefined) return command;
  (command.middlewareStack as Stack).add(
    (next: (args: { request: { query?: Record<string, string | string[] | null> } }) => Promise<unknown>) => async (args: { request: { query?: Record<string, string | string[] | null> } }) => {
      args.request.query = { ...args.request.query, include };
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'versiongateInclude' },
  );
  return command;
}
