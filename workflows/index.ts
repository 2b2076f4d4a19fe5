export { pilot } from './pilot/pilot';
