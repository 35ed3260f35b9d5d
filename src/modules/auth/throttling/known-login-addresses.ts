import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisService } from '@app/common';

/** How long an address an account logged in from stays exempt from that account's lock. */
export const KNOWN_LOGIN_ADDRESS_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Addresses each account has logged in from successfully (30 days). The per-account login
 * throttle skips them, so strangers locking an account from elsewhere do not lock its owner
 * out where they usually log in; the per-address throttle still applies there.
 * One Redis key per (email, address), named by a hash: no emails or addresses in Redis.
 */
@Injectable()
export class KnownLoginAddresses {
  constructor(private readonly redis: RedisService) {}

  private key(email: string, address: string): string {
    const digest = createHash('sha256').update(`${email}|${address}`).digest('base64url');
    return this.redis.key('login-known', digest);
  }

  async remember(email: string, address: string): Promise<void> {
    await this.redis.client.set(
      this.key(email, address),
      '1',
      'EX',
      KNOWN_LOGIN_ADDRESS_TTL_SECONDS,
    );
  }

  async isKnown(email: string, address: string): Promise<boolean> {
    return (await this.redis.client.exists(this.key(email, address))) === 1;
  }
}
