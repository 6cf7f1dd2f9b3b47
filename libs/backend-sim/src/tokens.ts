/** The parsed BackendSimConfig. */
export const BACKEND_SIM_CONFIG = Symbol('BACKEND_SIM_CONFIG');
/** This app's pino logger (service backend-sim), also in a process that hosts other apps. */
export const BACKEND_SIM_LOGGER = Symbol('BACKEND_SIM_LOGGER');
