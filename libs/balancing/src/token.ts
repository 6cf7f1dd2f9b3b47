export * from './token/redirect-token';
