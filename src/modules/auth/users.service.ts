import { ConflictException, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import * as argon2 from 'argon2';
import { Repository } from 'typeorm';
import { AppConfig, type UserRole } from '@app/config';
import {
  pageOffset,
  paginate,
  ResourceNotFoundError,
  type PageQueryDto,
  type Paginated,
} from '@app/common';
import { REVOKE_REASON, ROLE_RANK } from './auth.constants.js';
import { CallerCache } from './caller-cache.js';
import { User } from './entities/user.entity.js';
import { SessionsService } from './sessions.service.js';

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly callers: CallerCache,
  ) {}

  /** Creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD; idempotent and safe to race. */
  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail, adminPassword } = this.config.auth;
    if (!adminEmail || !adminPassword) return;
    const passwordHash = await argon2.hash(adminPassword);
    const result = await this.users
      .createQueryBuilder()
      .insert()
      .values({ email: adminEmail, passwordHash, role: 'admin', name: 'Administrator' })
      .orIgnore()
      .execute();
    if (result.identifiers.length && result.identifiers[0]) {
      this.logger.log(`created the first admin ${adminEmail}`);
    }
  }

  async create(
    email: string,
    password: string,
    name: string | null,
    role: UserRole = 'user',
  ): Promise<User> {
    const passwordHash = await argon2.hash(password);
    try {
      return await this.users.save(this.users.create({ email, passwordHash, name, role }));
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new ConflictException(`An account with email ${email} already exists`);
      }
      throw error;
    }
  }

  /** Returns the user when the password matches; argon2 compares in constant time. */
  async verifyCredentials(email: string, password: string): Promise<User | null> {
    const user = await this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.email = :email', { email })
      .getOne();
    if (!user) {
      // Spend the same time as a real check so response timing does not reveal which emails exist.
      await argon2.verify(await this.dummyHash(), password).catch(() => false);
      return null;
    }
    return (await argon2.verify(user.passwordHash, password)) ? user : null;
  }

  async list(query: PageQueryDto): Promise<Paginated<User>> {
    const [rows, total] = await this.users.findAndCount({
      order: { createdAt: 'ASC', id: 'ASC' },
      ...pageOffset(query),
    });
    return paginate(rows, total, query);
  }

  /**
   * Changes a role; a demotion (to a lower rank) also ends every session of the user, in the
   * same transaction. Either way every process's caller cache hears of it before this returns.
   */
  async setRole(id: string, role: UserRole): Promise<User> {
    const user = await this.users.manager.transaction(async (manager) => {
      const found = await manager.findOne(User, {
        where: { id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!found) throw new ResourceNotFoundError('User', id);
      if (ROLE_RANK[role] < ROLE_RANK[found.role]) {
        await this.sessions.revokeAllOf(id, REVOKE_REASON.demotion, manager);
      }
      found.role = role;
      return manager.save(found);
    });
    await this.callers.invalidate({ user: id });
    return user;
  }

  /** Ends every session of a user (an admin action); effective at once on every process. */
  async revokeSessions(id: string): Promise<number> {
    if (!(await this.users.existsBy({ id }))) throw new ResourceNotFoundError('User', id);
    const revoked = await this.sessions.revokeAllOf(id, REVOKE_REASON.admin);
    await this.callers.invalidate({ user: id });
    return revoked;
  }

  private dummy?: Promise<string>;
  private dummyHash(): Promise<string> {
    this.dummy ??= argon2.hash('timing-equaliser-password');
    return this.dummy;
  }
}
