import { Module } from '@nestjs/common';
import { AccountRepository } from './account.repository.js';

/** Account storage, shared by registration, request authentication and the key directory. */
@Module({ providers: [AccountRepository], exports: [AccountRepository] })
export class AccountModule {}
