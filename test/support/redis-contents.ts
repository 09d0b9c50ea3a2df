/** Everything in a Redis, key names and values of every type, as one text to grep for secrets. */
import type { Redis } from 'ioredis';

export async function redisContents(admin: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      parts.push(key);
      const type = await admin.type(key);
      if (type === 'string') parts.push(String(await admin.get(key)));
      else if (type === 'hash') parts.push(...Object.entries(await admin.hgetall(key)).flat());
      else if (type === 'zset') parts.push(...(await admin.zrange(key, 0, -1, 'WITHSCORES')));
      else if (type === 'set') parts.push(...(await admin.smembers(key)));
      else if (type === 'list') parts.push(...(await admin.lrange(key, 0, -1)));
    }
  } while (cursor !== '0');
  return parts.join('\n');
}
