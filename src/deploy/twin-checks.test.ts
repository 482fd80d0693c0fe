import { afterEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../test/helpers/agent-rig.js';
import type { AgentClient } from './agent-client.js';
import { sendTwinChecks, type TwinCheck } from './twin-checks.js';

type Answer = Awaited<TwinCheck>;

/** A client whose twin check is sent when `send` is called and answered when `answer` is. */
function fakeClient() {
  let onSent: (() => void) | undefined;
  let answer: (a: Answer) => void = () => {};
  const check = new Promise<Answer>((r) => (answer = r));
  const client = {
    twinCheck(sent?: () => void) {
      onSent = sent;
      return check;
    },
  } as unknown as AgentClient;
  return { client, check, send: () => onSent?.(), answer: (a: Answer) => answer(a) };
}

let rig: AgentRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('sendTwinChecks', () => {
  it("resolves once every request is sent, before any answer, with each host's check", async () => {
    const a = fakeClient();
    const b = fakeClient();
    let resolved = false;
    const { checks, sent } = sendTwinChecks(
      new Map([
        ['a', a.client],
        ['b', b.client],
      ]),
      60_000,
    );
    const sending = sent.then(() => {
      resolved = true;
    });
    a.send();
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    b.send();
    await sending;
    expect([...checks.keys()]).toEqual(['a', 'b']);
    expect(checks.get('a')).toBe(a.check);
    a.answer({ ok: true, value: { checking: true } });
    expect(await checks.get('a')).toEqual({ ok: true, value: { checking: true } });
  });

  it('does not wait for a request that failed instead of being sent', async () => {
    const a = fakeClient();
    const { checks, sent } = sendTwinChecks(new Map([['a', a.client]]), 60_000);
    a.answer({ ok: false, error: 'cannot reach agent' });
    await sent;
    expect(checks.size).toBe(1);
  });

  it('gives up waiting after waitMs for a request neither sent nor failed', async () => {
    const a = fakeClient();
    const { checks, sent } = sendTwinChecks(new Map([['a', a.client]]), 1);
    await sent;
    expect(checks.size).toBe(1);
  });

  it('asks a real agent, whose answer comes before its check runs', async () => {
    rig = await startAgentRig({ prefix: 'slipway-twin-checks-', token: 'unit-test-token-0123456789' });
    const { checks, sent } = sendTwinChecks(new Map([['host', rig.client]]));
    await sent;
    const said = await checks.get('host');
    expect(said?.ok && said.value.checking).toBe(true);
  });
});
