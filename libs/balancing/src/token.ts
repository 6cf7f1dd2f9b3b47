export * from './token/redirect-token';
export * from './token/token-guard';
export * from './token/seen-tokens';
