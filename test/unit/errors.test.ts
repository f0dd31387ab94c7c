import { describe, expect, it } from 'vitest';
import { debugChar, debugString, HostError, isHostError } from '../../host/errors.ts';

describe('HostError', () => {
  it('names file, key and hint in the message', () => {
    const err = new HostError('unknown key `foo`', {
      code: 'manifest-unknown-key',
      file: 'spin.toml',
      key: 'component.api.foo',
      hint: 'allowed keys here: `source`',
    });
    expect(err.message).toBe('spin.toml: component.api.foo: unknown key `foo`\nhint: allowed keys here: `source`');
    expect(err.reason).toBe('unknown key `foo`');
    expect(err.code).toBe('manifest-unknown-key');
    expect(err.file).toBe('spin.toml');
    expect(err.key).toBe('component.api.foo');
    expect(err.name).toBe('HostError');
    expect(err).toBeInstanceOf(Error);
  });

  it('leaves out parts that are unknown', () => {
    expect(new HostError('boom', { code: 'x' }).message).toBe('boom');
    expect(new HostError('boom', { code: 'x', file: 'rc.toml' }).message).toBe('rc.toml: boom');
    expect(new HostError('boom', { code: 'x', key: 'a.b' }).message).toBe('a.b: boom');
    expect(new HostError('boom', { code: 'x', hint: 'fix it' }).message).toBe('boom\nhint: fix it');
  });

  it('keeps the cause', () => {
    const cause = new Error('inner');
    expect(new HostError('outer', { code: 'x', cause }).cause).toBe(cause);
    expect('cause' in new HostError('outer', { code: 'x' })).toBe(false);
  });

  it('withContext fills only what is missing', () => {
    const base = new HostError('bad', { code: 'template-invalid', hint: 'close it' });
    const withCtx = base.withContext({ file: 'spin.toml', key: 'component.a.variables.x', hint: 'other' });
    expect(withCtx.message).toBe('spin.toml: component.a.variables.x: bad\nhint: close it');
    expect(withCtx.code).toBe('template-invalid');
    expect(base.withContext({ code: 'variable-invalid' }).code).toBe('variable-invalid');
  });

  it('isHostError checks type and code', () => {
    const err = new HostError('x', { code: 'unsupported' });
    expect(isHostError(err)).toBe(true);
    expect(isHostError(err, 'unsupported')).toBe(true);
    expect(isHostError(err, 'manifest-invalid')).toBe(false);
    expect(isHostError(new Error('x'))).toBe(false);
  });
});

describe('Rust debug formatting', () => {
  it('quotes strings like {:?}', () => {
    expect(debugString('abc')).toBe('"abc"');
    expect(debugString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(debugString("it's\n")).toBe('"it\'s\\n"');
    expect(debugString('\u0001')).toBe('"\\u{1}"');
  });

  it('quotes chars like {:?}', () => {
    expect(debugChar('-')).toBe("'-'");
    expect(debugChar("'")).toBe("'\\''");
    expect(debugChar('"')).toBe("'\"'");
  });
});
