/** The parsed RegistryConfig, for providers. */
export const REGISTRY_CONFIG = Symbol('REGISTRY_CONFIG');

/** A pino logger bound to this registry, for events outside a request (the sweeper). */
export const REGISTRY_LOGGER = Symbol('REGISTRY_LOGGER');
