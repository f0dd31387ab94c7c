/**
 * Whether the machine's Redis (127.0.0.1:6379) answers, for suites that need it. In CI a missing Redis is an error
 * (`.ci/run` starts one); locally the suite is skipped with a loud message naming what was skipped.
 */
import { createConnection } from 'node:net';

function redisUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port: 6379 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** True when Redis answers; throws in CI when it does not, and warns loudly otherwise. */
export async function requireRedis(skipped: string): Promise<boolean> {
  const up = await redisUp();
  if (!up && process.env.CI) throw new Error('Redis is not running on 127.0.0.1:6379; .ci/run starts it');
  if (!up) console.warn(`\n!!! Redis is not running on 127.0.0.1:6379: ${skipped} are SKIPPED !!!\n`);
  return up;
}
