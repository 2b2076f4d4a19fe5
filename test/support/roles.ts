import { Role } from '../../domain/pilot';

export const ROLE_NAMES = Role.options;
