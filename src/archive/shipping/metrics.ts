/** The shipping status as Prometheus text exposition: gauges a scraper or a log line can take as they are. */
import type { ShippingStatus } from './shipper.js';

const GAUGES: Array<[name: string, help: string, value: (s: ShippingStatus) => number | null]> = [
  ['bri_shipping_lag_lines', 'Lines written and not yet shipped to the remote.', (s) => s.lagLines],
  ['bri_shipping_lag_seconds', 'How long the oldest unshipped line has waited.', (s) => s.lagMs / 1000],
  ['bri_shipping_shipped_through_line', 'Absolute line through which the remote holds every line.', (s) => s.shippedThrough],
  ['bri_shipping_shipments_total', 'Shipments made by this process.', (s) => s.shipments],
  ['bri_shipping_consecutive_failures', 'Failed attempts since the last success.', (s) => s.failures],
  ['bri_shipping_last_shipment_timestamp_seconds', 'When the last shipment was confirmed.', (s) => (s.lastShipmentAt === null ? null : s.lastShipmentAt / 1000)],
];

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function shippingMetrics(status: readonly ShippingStatus[]): string {
  const out: string[] = [];
  for (const [name, help, value] of GAUGES) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const s of status) {
      const v = value(s);
      if (v !== null) out.push(`${name}{source="${label(s.source)}"} ${v}`);
    }
  }
  return out.join('\n') + '\n';
}
