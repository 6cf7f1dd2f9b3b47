/** The parsed BackendSimConfig. */
export const BACKEND_SIM_CONFIG = Symbol('BACKEND_SIM_CONFIG');
