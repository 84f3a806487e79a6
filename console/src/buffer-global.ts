// sigv4.ts uses the Buffer global; the browser bundle injects this one (esbuild `inject`).
export { Buffer } from 'buffer';
