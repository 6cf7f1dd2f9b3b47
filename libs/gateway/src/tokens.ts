/** The gateway's pino logger (the traffic path logs through it directly, not through Nest). */
export const GATEWAY_LOGGER = Symbol('GATEWAY_LOGGER');
