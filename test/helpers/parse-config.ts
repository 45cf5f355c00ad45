/** parseConfig as the settings tests call it: in a working folder, and the message a bad input stops on. */
import { expect } from 'vitest';
import { parseConfig, type Config, type ConfigInput } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

export function configParser(cwd: () => string) {
  const parse = (input: Partial<ConfigInput> = {}): Config => parseConfig({ env: {}, flags: {}, dev: true, cwd: cwd(), ...input });
  /** Runs parseConfig expecting a ConfigError and returns its message. */
  const configError = (input: Partial<ConfigInput>): string => {
    let caught: unknown;
    try {
      parse(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    return (caught as ConfigError).message;
  };
  return { parse, configError };
}
