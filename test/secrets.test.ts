/** Misconfigured secrets are refused with a message that never quotes them. */
import { loadTokens } from '../api/auth';
import { loadCodecKeys } from '../lib/codec';

test.each([
  ['API tokens', () => loadTokens({ API_TOKENS: '[{"token":"s3cr3t-TOKEN-value' })],
  ['payload codec keys', () => loadCodecKeys({ PAYLOAD_CODEC_KEYS: '{"current":"k","keys":{"k":"s3cr3t-TOKEN-value' })],
])('malformed %s: the error names the setting, not its value', (what, load) => {
  expect(load).toThrow(`${what} are not valid JSON`);
  try {
    load();
  } catch (error) {
    expect((error as Error).message).not.toContain('s3cr3t');
  }
});

test('unset settings mean no tokens and no codec', () => {
  expect(loadTokens({})).toEqual([]);
  expect(loadCodecKeys({})).toBeNull();
});
