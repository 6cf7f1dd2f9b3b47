import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'registry:public';

/** Opts a read-only route out of the bearer token; everything else needs it (secure by default). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
