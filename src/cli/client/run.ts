/**
 * Entry point of the client commands (`versiongate list-package-versions …`): parse, connect, run,
 * and turn every failure into one line on stderr and an exit code — 0 success, 1 failure (an error
 * answer, a failed version, a broken connection), 2 usage error — as the rest of `versiongate` does;
 * a download stopped by Ctrl-C or SIGTERM exits as a shell reports a signal (130, 143).
 */
import type { CodeartifactClient } from '@aws-sdk/client-codeartifact';
import { ClientUsageError, parseClientArgs, type FlagSpec } from './args.ts';
import { AssetFileError, CLIENT_COMMANDS, Interrupted, type ClientCommand } from './commands.ts';
import { codeArtifactClient, CONNECTION_FLAGS, resolveConnection } from './connection.ts';
import { describeNonJsonAnswer } from './non-json-answer.ts';
import { PACKAGE_COMMANDS } from './package-commands.ts';
import { PaginationError } from './paginate.ts';
import { TENANCY_COMMANDS } from './tenancy-commands.ts';
import { loadSdk } from './sdk.ts';
import { synopsis, usageLines, wrap } from '../usage.ts';

const COMMANDS: readonly ClientCommand[] = [...CLIENT_COMMANDS, ...PACKAGE_COMMANDS, ...TENANCY_COMMANDS];
const BY_NAME = new Map(COMMANDS.map((c) => [c.name, c]));

export const CLIENT_COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.name);

export interface ClientIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: ClientIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export async function runClientCommand(name: string, args: readonly string[], env: NodeJS.ProcessEnv, io: ClientIo = processIo): Promise<number> {
  const command = BY_NAME.get(name);
  if (!command) throw new Error(`not a client command: ${name}`);
  // The SDK warns on every run under Node 20 that its releases from 2027 will need Node 22: news
  // for whoever upgrades the dependency, not for someone archiving a version, and it would bury
  // the one line of stderr a failed command prints.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { out, err } = io;
  let client: CodeartifactClient | undefined;
  let endpoint: string | undefined;
  try {
    const parsed = parseClientArgs(args, [...command.flags, ...CONNECTION_FLAGS], command.positional ? 1 : 0);
    if (parsed.help) {
      out(helpText(command));
      return 0;
    }
    if (command.positional && parsed.positionals.length === 0) throw new ClientUsageError(`${name} needs ${command.positional.name}, the last argument`);
    // Refused before anything is sent: it would fail only once the asset had been downloaded.
    const problem = command.positional?.problem?.(parsed.positionals[0]!);
    if (problem !== undefined) throw new ClientUsageError(problem);
    const connection = resolveConnection(parsed.values, env);
    endpoint = connection.endpoint;
    await loadSdk();
    client = codeArtifactClient(connection, { retries: !command.mutates });
    return await command.run({ client, values: parsed.values, positionals: parsed.positionals, out, err });
  } catch (e) {
    if (e instanceof ClientUsageError) {
      err(`versiongate: ${e.message}\nUsage:\n${usageOf(command).join('\n')}\nRun 'versiongate ${name} --help' for the details.\n`);
      return 2;
    }
    if (e instanceof Interrupted) {
      err(`versiongate: ${e.message}\n`);
      return e.exitCode;
    }
    err(`versiongate: ${describeFailure(e, endpoint)}\n`);
    return 1;
  } finally {
    // The SDK keeps sockets alive for reuse; a one-shot command must not wait for them to idle out.
    client?.destroy();
  }
}

/**
 * An error answer from the gateway is printed as its type and message, as CodeArtifact names them
 * (`AccessDeniedException: User: alice is not authorized to perform: …`); an answer that is not
 * JSON at all (a proxy's error page) as its HTTP status and the start of its body. A failure to
 * reach it names the endpoint. Nothing printed here can contain the token: it is never part of a message.
 */
function describeFailure(e: unknown, endpoint: string | undefined): string {
  const notJson = describeNonJsonAnswer(e, endpoint);
  if (notJson !== undefined) return notJson;
  if (isServiceError(e)) return `${e.name}: ${e.message}`;
  if (e instanceof AssetFileError || e instanceof PaginationError) return e.message;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const message = e instanceof AggregateError && e.errors.length > 0 ? e.errors.map((x: Error) => x.message).join('; ') : (e as Error | undefined)?.message || String(e);
  if (endpoint && typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|ERR_STREAM_PREMATURE_CLOSE)$/.test(code)) {
    return `cannot complete the request to ${endpoint}: ${message}`;
  }
  if ((e as Error | undefined)?.name === 'TimeoutError') return `no answer from ${endpoint ?? 'the endpoint'} in time: ${message}`;
  return message;
}

/** An error the gateway answered, deserialized by the SDK (it carries $fault and $metadata). */
function isServiceError(e: unknown): e is Error & { $fault: string; $metadata: { httpStatusCode?: number } } {
  return e instanceof Error && typeof (e as { $fault?: unknown }).$fault === 'string' && typeof (e as { $metadata?: unknown }).$metadata === 'object';
}

/** `versiongate NAME --flag <value> … [OUTFILE]`, wrapped: the synopsis of the command's flags. */
function usageOf(command: ClientCommand): string[] {
  const visible = [...command.flags, ...CONNECTION_FLAGS].filter((f) => !f.hidden);
  return usageLines(command.name, [...visible.map(synopsis), ...(command.positional ? [command.positional.name] : [])]);
}

/** A command that writes OUTFILE can also be stopped mid-download, which its exit status tells apart. */
function exitStatusLines(command: ClientCommand): string[] {
  const interrupted = command.positional?.name === 'OUTFILE' ? '; 130 (Ctrl-C) or 143 (SIGTERM) a download stopped by the signal, its partial file removed and OUTFILE not written' : '';
  return wrap(`Prints the JSON the aws CLI prints. Exit status: 0 success; 1 an error answer, a failed version or no connection (the error type and message on stderr); 2 a usage error${interrupted}.`, 100);
}

function helpText(command: ClientCommand): string {
  const lines = usageOf(command);
  const describe = (label: string, help: string) => `  ${label.padEnd(34)} ${wrap(help, 100 - 37).join(`\n${' '.repeat(37)}`)}`;
  const flagLine = (f: FlagSpec) => describe(f.type === 'boolean' ? `--[no-]${f.name}` : f.type === 'switch' ? `--${f.name}` : `--${f.name} <value>`, `${f.required ? '(required) ' : ''}${f.help}`);
  return [
    `versiongate ${command.name}: CodeArtifact's ${command.operation}, with the flags and output of`,
    `\`aws codeartifact ${command.name}\`.`,
    '',
    ...wrap(command.summary, 100),
    '',
    'Usage:',
    ...lines,
    '',
    'Options:',
    ...command.flags.filter((f) => !f.hidden).map(flagLine),
    ...(command.positional ? [describe(command.positional.name, `(required) ${command.positional.help}`)] : []),
    '',
    'Connection:',
    ...CONNECTION_FLAGS.map(flagLine),
    '',
    ...exitStatusLines(command),
    '',
  ].join('\n');
}

