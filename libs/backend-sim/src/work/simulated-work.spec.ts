import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { burnCpu, waitUnlessClosed } from './simulated-work';

const fakeResponse = () => Object.assign(new EventEmitter(), { destroyed: false }) as unknown as ServerResponse;

describe('waitUnlessClosed', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('resolves true when the time is up', async () => {
    const done = waitUnlessClosed(1_000, fakeResponse());
    jest.advanceTimersByTime(1_000);
    await expect(done).resolves.toBe(true);
  });

  it('resolves false and clears its timer when the client goes away', async () => {
    const res = fakeResponse();
    const done = waitUnlessClosed(600_000, res);
    expect(jest.getTimerCount()).toBe(1);
    res.emit('close');
    await expect(done).resolves.toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('burnCpu', () => {
  it('runs until the clock says the time is up', () => {
    let t = 0;
    expect(burnCpu(3, () => t++)).toBe(3); // start reads 0 (end = 3); rounds read 1, 2, 3
  });
});
