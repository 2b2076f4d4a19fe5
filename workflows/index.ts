export { pilot } from './pilot/pilot';
export { intake } from './intake/intake';
