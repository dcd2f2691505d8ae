// The browser door: single sign-on routes, /login, /logout and /me (issue 15).
export { webRouter } from './router.js';
