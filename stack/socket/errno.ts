// The socket layer's errno values are the stack-wide Darwin ones.
export * from '../errno.js';
