import { type BackendView, isAlive } from '@lb/balancing';

/** What the API shows of a backend: the store's view plus the two numbers an operator asks for. */
export type BackendApiView = BackendView & {
  /** What a pick compares: active / weight. */
  readonly load: number;
  /**
   * False between a lapsed liveness deadline and the sweep's verdict (which may extend it when the
   * store stalled: see planEviction). Health (`health`) is the active checks' verdict.
   */
  readonly alive: boolean;
};

export interface BackendListResponse {
  readonly pool: string;
  readonly backends: BackendApiView[];
}

export function toApiView(view: BackendView, now: number): BackendApiView {
  return { ...view, load: view.weight > 0 ? view.active / view.weight : 0, alive: isAlive(view.livenessDeadline, now) };
}
