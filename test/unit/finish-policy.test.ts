/**
 * When a recorder may end a run's log, and when it stops waiting for a
 * counted stream's close frame: every rule on its own, with made-up facts.
 */
import { describe, expect, it } from 'vitest';
import {
  CAP_SETTLE_PERIODS,
  decideFinish,
  type FinishFacts,
  type OpenStreamFacts,
  settleOpenStream,
} from '../../src/runs/finish-policy.js';

const settleMs = 1_000;

/** A finished run whose REST state says so since t=10 000, its listener attached and just heard. */
function facts(overrides: Partial<FinishFacts> = {}): FinishFacts {
  return {
    now: 10_000,
    settleMs,
    terminalSince: 10_000,
    failedSince: null,
    lastEventAt: 10_000,
    sawRunEvent: false,
    orderedFinish: false,
    accounted: false,
    listenerAttached: true,
    runEventMayBeLost: false,
    ...overrides,
  };
}

describe('decideFinish', () => {
  it('should never finish a run REST does not show finished', () => {
    expect(decideFinish(facts({ terminalSince: null, sawRunEvent: true, orderedFinish: true }))).toMatchObject({
      canFinish: false,
    });
  });

  it("should finish at once on the run's finish from an engine that orders it after the run's events", () => {
    expect(decideFinish(facts({ sawRunEvent: true, orderedFinish: true }))).toEqual({
      canFinish: true,
      cutShort: false,
      by: 'heard',
    });
  });

  it("should not trust the run's finish from an engine that does not order it, unless the kit accounted for every stream", () => {
    expect(decideFinish(facts({ sawRunEvent: true })).canFinish).toBe(false);
    expect(decideFinish(facts({ sawRunEvent: true, accounted: true }))).toMatchObject({ canFinish: true, by: 'heard' });
  });

  it('should finish at once when no listener is attached: nothing more can arrive', () => {
    expect(decideFinish(facts({ listenerAttached: false }))).toMatchObject({ canFinish: true, cutShort: false });
  });

  it('should wait for a FAILED run to stand for a settle period: a retry may follow', () => {
    const failed = { failedSince: 10_000, listenerAttached: false };
    expect(decideFinish(facts({ ...failed, now: 10_999 })).canFinish).toBe(false);
    expect(decideFinish(facts({ ...failed, now: 11_000 })).canFinish).toBe(true);
  });

  it("should end on the listener's silence on an engine that does not order its finish, said as cut short when the finish was not heard", () => {
    const later = { now: 11_000, lastEventAt: 10_000 };
    expect(decideFinish(facts({ ...later, lastEventAt: 10_500 })).canFinish).toBe(false);
    expect(decideFinish(facts(later))).toEqual({ canFinish: true, cutShort: true, by: 'silence' });
    expect(decideFinish(facts({ ...later, sawRunEvent: true }))).toEqual({
      canFinish: true,
      cutShort: false,
      by: 'silence',
    });
  });

  it('should not end on silence on an engine that orders its finish, unless its finish may have been lost to a re-attachment', () => {
    const silent = { now: 20_000, lastEventAt: 10_000, orderedFinish: true };
    expect(decideFinish(facts(silent)).canFinish).toBe(false);
    expect(decideFinish(facts({ ...silent, runEventMayBeLost: true }))).toMatchObject({
      canFinish: true,
      by: 'silence',
    });
  });

  it('should give up at the cap, whatever the engine, and say so', () => {
    const capped = {
      now: 10_000 + settleMs * CAP_SETTLE_PERIODS,
      lastEventAt: 10_000 + settleMs * CAP_SETTLE_PERIODS,
    };
    expect(decideFinish(facts({ ...capped, orderedFinish: true }))).toEqual({
      canFinish: true,
      cutShort: true,
      by: 'cap',
    });
  });
});

function stream(overrides: Partial<OpenStreamFacts> = {}): OpenStreamFacts {
  return {
    now: 10_000,
    settleMs,
    since: 10_000,
    complete: false,
    expected: false,
    endHeard: false,
    lastEventAt: 10_000,
    orderedFinish: false,
    sawRunEvent: false,
    runEventMayBeLost: false,
    runOver: false,
    ...overrides,
  };
}

describe('settleOpenStream', () => {
  it('should settle at once when every announced chunk arrived, or the run is over', () => {
    expect(settleOpenStream(stream({ complete: true }))).toBe(true);
    expect(settleOpenStream(stream({ runOver: true }))).toBe(true);
  });

  it("should settle on the run's finish from an engine that orders it, and otherwise wait for it there", () => {
    expect(settleOpenStream(stream({ orderedFinish: true, sawRunEvent: true }))).toBe(true);
    expect(settleOpenStream(stream({ orderedFinish: true, now: 50_000 }))).toBe(false);
  });

  it('should settle on silence elsewhere, ten times more patiently while a receipt announces chunks', () => {
    const silent = { now: 11_000 };
    expect(settleOpenStream(stream({ ...silent, lastEventAt: 10_500 }))).toBe(false);
    expect(settleOpenStream(stream(silent))).toBe(true);
    expect(settleOpenStream(stream({ ...silent, expected: true }))).toBe(false);
    expect(settleOpenStream(stream({ now: 20_000, expected: true }))).toBe(true);
  });

  it("should settle at once on a step's end heard from an engine that orders it after the step's chunks", () => {
    expect(settleOpenStream(stream({ orderedFinish: true, endHeard: true }))).toBe(true);
    expect(settleOpenStream(stream({ orderedFinish: true, endHeard: true, expected: true }))).toBe(false);
    expect(settleOpenStream(stream({ endHeard: true }))).toBe(false);
  });

  it('should settle at the cap whatever the engine', () => {
    expect(
      settleOpenStream(stream({ orderedFinish: true, now: 10_000 + settleMs * CAP_SETTLE_PERIODS, lastEventAt: 1e12 })),
    ).toBe(true);
  });
});
