import { ConflictException, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import * as argon2 from 'argon2';
import { Repository } from 'typeorm';
import { AppConfig, type UserRole } from '@app/config';
import {
  pageOffset,
  paginate,
  ResourceNotFoundError,
  type AuthUser,
  type PageQueryDto,
  type Paginated,
  PreparedStatement,
} from '@app/common';
import { User } from './entities/user.entity.js';

const UNIQUE_VIOLATION = '23505';

/** The caller behind a token: read on every authenticated request. */
const FIND_AUTH_USER = new PreparedStatement<AuthUser>(
  'SELECT id, email, name, role FROM users WHERE id = $1',
);

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly config: AppConfig,
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

  /** The caller behind a token, read on every authenticated request: a prepared statement. */
  async findAuthUser(id: string): Promise<AuthUser | null> {
    const [user] = await FIND_AUTH_USER.run(this.users.manager.dataSource, [id]);
    return user ?? null;
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  async list(query: PageQueryDto): Promise<Paginated<User>> {
    const [rows, total] = await this.users.findAndCount({
      order: { createdAt: 'ASC', id: 'ASC' },
      ...pageOffset(query),
    });
    return paginate(rows, total, query);
  }

  async setRole(id: string, role: UserRole): Promise<User> {
    const user = await this.findById(id);
    if (!user) throw new ResourceNotFoundError('User', id);
    user.role = role;
    return this.users.save(user);
  }

  private dummy?: Promise<string>;
  private dummyHash(): Promise<string> {
    this.dummy ??= argon2.hash('timing-equaliser-password');
    return this.dummy;
  }
}
