/** The redis-server that the integration jest run started (see tools/test/jest-global-setup.cjs). */
export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run integration tests through `npm test` or jest with the repo config');
  return url;
}
