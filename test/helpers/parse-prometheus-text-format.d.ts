/** Types for parse-prometheus-text-format (a port of Prometheus' text parser), which ships none. */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
