export { pilot } from './pilot';
