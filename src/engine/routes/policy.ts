// Policy routes (SPRITES-API.md §8): validated with the shared rules of src/protocol/policy.ts.
import type { Engine } from '../server.js';
import type { HttpRoute } from '../router.js';
import { HttpError, readJson, sendEmpty, sendJson } from '../http.js';
import { PolicyStore, type PolicyKind } from '../policy.js';
import {
  validateNetworkPolicy,
  validatePrivilegesPolicy,
  validateResourcesPolicy,
  type Validation,
} from '../../protocol/policy.js';

const VALIDATORS: Record<PolicyKind, (doc: unknown) => Validation<unknown>> = {
  network: validateNetworkPolicy,
  privileges: validatePrivilegesPolicy,
  resources: validateResourcesPolicy,
};

export function policyRoutes(engine: Engine): HttpRoute[] {
  const policies = new PolicyStore(engine.store);
  const routes: HttpRoute[] = [];
  for (const kind of ['network', 'privileges', 'resources'] as const) {
    const path = `/v1/sprites/:name/policy/${kind}`;
    routes.push(
      {
        method: 'GET',
        path,
        async handle({ res, params }) {
          sendJson(res, 200, await policies.get(params.name!, kind));
        },
      },
      {
        method: 'POST',
        path,
        async handle({ req, res, params }) {
          engine.store.require(params.name!);
          const checked = VALIDATORS[kind](await readJson(req));
          if (!checked.ok) throw new HttpError(400, 'invalid_policy', `invalid ${kind} policy: ${checked.problems.join('; ')}`);
          await policies.set(params.name!, kind, checked.value);
          await engine.driver.policyChanged?.(params.name!);
          sendEmpty(res, 204);
        },
      },
    );
    if (kind !== 'network') {
      routes.push({
        method: 'DELETE',
        path,
        async handle({ res, params }) {
          await policies.reset(params.name!, kind);
          await engine.driver.policyChanged?.(params.name!);
          sendEmpty(res, 204);
        },
      });
    }
  }
  return routes;
}
