/** The BalancerStore (memory or Redis) every app module gets. */
export const BALANCER_STORE = Symbol('BALANCER_STORE');
