import { createServiceImplSpec, type ConnectRouter } from "@connectrpc/connect";
import { proto3JsonOptions } from "../pipeline/proto3-json.js";
import type { ServiceRegistration } from "../pipeline/service-registry.js";

/**
 * routeServices adds every method of the registered services to a Connect
 * router, each reading JSON requests by the proto3 JSON rules its input
 * asks for (see proto3JsonOptions): Connect would otherwise ignore unknown
 * fields and take `"0x0d"` for 13, where REST callers get an error. A method
 * a service leaves out answers UNIMPLEMENTED, as `router.service` does.
 */
export function routeServices(router: ConnectRouter, registrations: readonly ServiceRegistration[]): void {
  for (const { service, implementation } of registrations) {
    const spec = createServiceImplSpec(service, implementation as never);
    for (const { method, impl } of Object.values(spec.methods)) {
      router.rpc(method, impl as never, { jsonOptions: proto3JsonOptions(method.input) });
    }
  }
}
