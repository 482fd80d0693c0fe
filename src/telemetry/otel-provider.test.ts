import { describe, expect, it } from 'vitest';
import { parseHeaders, tracesUrl } from './otel-provider.js';

describe('OTLP settings from the environment', () => {
  it('appends /v1/traces to the base endpoint only', () => {
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' })).toBe(
      'http://127.0.0.1:4318/v1/traces',
    );
    expect(
      tracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom',
      }),
    ).toBe('http://b:4318/custom');
  });

  it('reads headers as the specification writes them', () => {
    expect(parseHeaders('api-key=abc%3D%3D, x-team = build ,broken,=nokey')).toEqual({
      'api-key': 'abc==',
      'x-team': 'build',
    });
    expect(parseHeaders(undefined)).toEqual({});
  });
});
