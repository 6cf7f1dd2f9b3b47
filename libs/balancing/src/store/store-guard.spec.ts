import { StoreDeadlineError, StoreGuard, type StoreState } from './store-guard';

describe('StoreGuard', () => {
  let guard: StoreGuard;
  let probeAnswers: boolean;
  let recoverFails: boolean;
  let recovered: number;
  let transitions: StoreState[];

  beforeEach(() => {
    jest.useFakeTimers();
    probeAnswers = false;
    recoverFails = false;
    recovered = 0;
    transitions = [];
    guard = new StoreGuard({
      timeoutMs: 40,
      probeIntervalMs: 100,
      probe: () => (probeAnswers ? Promise.resolve('PONG') : new Promise(() => undefined)),
      recover: async () => {
        if (recoverFails) throw new Error('reconcile failed');
        recovered++;
      },
      onTransition: (state) => transitions.push(state),
    });
  });

  afterEach(() => {
    guard.close();
    jest.useRealTimers();
  });

  const never = () => new Promise<string>(() => undefined);

  it('passes answers through while the store answers in time', async () => {
    await expect(guard.call(() => Promise.resolve('ok'))).resolves.toBe('ok');
    expect(guard.state).toBe('up');
    expect(transitions).toEqual([]);
  });

  it('answers a call the store leaves hanging at its deadline, and degrades once for many', async () => {
    const first = guard.call(never);
    const second = guard.call(never);
    const late = jest.fn();
    first.catch(late);
    second.catch(() => undefined);
    await jest.advanceTimersByTimeAsync(20);
    expect(late).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(40);
    await expect(first).rejects.toBeInstanceOf(StoreDeadlineError);
    await expect(second).rejects.toBeInstanceOf(StoreDeadlineError);
    expect(guard.state).toBe('degraded');
    expect(transitions).toEqual(['degraded']);
  });

  it('degrades on a failed call and does not try the store again until a probe answers', async () => {
    await expect(guard.call(() => Promise.reject(new Error('ECONNREFUSED')))).rejects.toThrow('ECONNREFUSED');
    const fn = jest.fn(() => Promise.resolve('ok'));
    await expect(guard.call(fn)).rejects.toBeInstanceOf(StoreDeadlineError);
    expect(fn).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(3_000); // probes get no answer
    expect(guard.state).toBe('degraded');
    probeAnswers = true;
    await jest.advanceTimersByTimeAsync(1_200);
    expect(guard.state).toBe('up');
    expect(recovered).toBe(1);
    expect(transitions).toEqual(['degraded', 'up']);
    await expect(guard.call(fn)).resolves.toBe('ok');
  });

  it('stays degraded while recovery fails, even though the store answers', async () => {
    guard.fail(new Error('lost'));
    probeAnswers = true;
    recoverFails = true;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(guard.state).toBe('degraded');
    recoverFails = false;
    await jest.advanceTimersByTimeAsync(200);
    expect(guard.state).toBe('up');
    expect(transitions).toEqual(['degraded', 'up']);
  });

  it('recovers in the background when the connection came back unnoticed, and degrades if that fails', async () => {
    guard.requestRecovery();
    await jest.advanceTimersByTimeAsync(0);
    expect(recovered).toBe(1);
    expect(guard.state).toBe('up');
    recoverFails = true;
    guard.requestRecovery();
    await jest.advanceTimersByTimeAsync(0);
    expect(guard.state).toBe('degraded');
  });

  it('ignores an answer that arrives after its deadline', async () => {
    let answer: (v: string) => void = () => undefined;
    const pending = guard.call(() => new Promise<string>((resolve) => (answer = resolve)));
    await jest.advanceTimersByTimeAsync(60);
    await expect(pending).rejects.toBeInstanceOf(StoreDeadlineError);
    answer('too late');
    await jest.advanceTimersByTimeAsync(0);
    expect(transitions).toEqual(['degraded']);
  });
});
