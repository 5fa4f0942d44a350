#include "admin/metrics_text.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <map>

#include "acme/issued.hpp"
#include "acme/manager.hpp"
#include "observe/metrics.hpp"
#include "observe/provider_state.hpp"
#include "tls/cert_facts.hpp"

namespace snigate::admin {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// Names as Traefik's metrics and API write them: with their provider.
std::string qualified(const std::string& name) {
  return name.empty() || name.find('@') != std::string::npos ? name : name + "@file";
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  return MetricFamily{std::move(name), std::move(help), type, {}};
}

ClientMetric value(Labels labels, double v, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) m.counter.value = v;
  else m.gauge.value = v;
  return m;
}

ClientMetric histogram(Labels labels, const observe::Histogram& h, const std::vector<double>& bounds) {
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = h.n;
  m.histogram.sample_sum = h.sum;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    m.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  m.histogram.bucket.push_back({h.n, std::numeric_limits<double>::infinity()});
  return m;
}

// A label that metrics.prometheus leaves out (addRoutersLabels...) is
// dropped, and the series that differed only in it are summed.
struct LabelChoice {
  bool entry_point, router, service;
};

void add_connections(std::vector<MetricFamily>& out, const observe::MetricsTotals& t, LabelChoice on) {
  std::map<Labels, double> conns;
  std::map<Labels, double> bytes;
  for (const auto& [k, c] : t.connections) {
    Labels l;
    if (on.entry_point) l.push_back({"entrypoint", k.entry_point});
    if (on.router) l.push_back({"router", qualified(k.router)});
    Labels b = l;
    if (on.service) l.push_back({"service", qualified(k.service)});
    l.push_back({"mode", k.mode});
    l.push_back({"end", k.end});
    conns[l] += static_cast<double>(c.count);
    b.push_back({"direction", "in"});
    bytes[b] += static_cast<double>(c.bytes_in);
    b.back().value = "out";
    bytes[b] += static_cast<double>(c.bytes_out);
  }
  auto& f = out.emplace_back(family("snigate_connections_total",
                                    "Connections ended, by how they ended (as the access log's end field).",
                                    MetricType::Counter));
  for (auto& [l, n] : conns) f.metric.push_back(value(l, n, MetricType::Counter));
  auto& g = out.emplace_back(family("snigate_bytes_total",
                                    "Bytes relayed by ended connections: in is client to server, out server to client.",
                                    MetricType::Counter));
  for (auto& [l, n] : bytes) g.metric.push_back(value(l, n, MetricType::Counter));
}

void add_histograms(std::vector<MetricFamily>& out, const observe::MetricsTotals& t, LabelChoice on) {
  auto one = [&](std::string name, std::string help, const std::map<std::string, observe::Histogram>& by,
                 const char* label, bool labelled) {
    auto& f = out.emplace_back(family(std::move(name), std::move(help), MetricType::Histogram));
    std::map<Labels, observe::Histogram> merged;
    for (const auto& [k, h] : by) {
      observe::Histogram& into = merged[labelled ? Labels{{label, std::string(label) == "service" ? qualified(k) : k}} : Labels{}];
      if (into.counts.empty()) into.counts.assign(h.counts.size(), 0);
      for (std::size_t i = 0; i < h.counts.size() && i < into.counts.size(); ++i) into.counts[i] += h.counts[i];
      into.n += h.n;
      into.sum += h.sum;
    }
    for (auto& [l, h] : merged) f.metric.push_back(histogram(l, h, t.buckets));
  };
  one("snigate_connection_duration_seconds", "How long connections lasted, from accept to close.", t.duration,
      "entrypoint", on.entry_point);
  one("snigate_tls_handshake_duration_seconds", "TLS handshakes snigate completed with clients (termination).",
      t.handshake, "entrypoint", on.entry_point);
  one("snigate_server_connect_duration_seconds", "Time to connect a server, retries to other servers included.",
      t.connect, "service", on.service);
}

void add_counts(std::vector<MetricFamily>& out, const observe::MetricsTotals& t) {
  auto& r = out.emplace_back(family("snigate_middleware_refusals_total", "Clients a middleware refused.",
                                    MetricType::Counter));
  for (const auto& [k, n] : t.refusals)
    r.metric.push_back(value({{"middleware", qualified(std::get<0>(k))}, {"router", qualified(std::get<1>(k))}, {"reason", std::get<2>(k)}},
                             static_cast<double>(n), MetricType::Counter));
  auto& h = out.emplace_back(family("snigate_health_checks_total", "Active health checks run, by result.",
                                    MetricType::Counter));
  for (const auto& [k, n] : t.health)
    h.metric.push_back(value({{"service", qualified(std::get<0>(k))}, {"server", std::get<1>(k)}, {"result", std::get<2>(k)}},
                             static_cast<double>(n), MetricType::Counter));
}

void add_config(std::vector<MetricFamily>& out, const observe::MetricsTotals& t) {
  auto scalar = [&](std::string name, std::string help, MetricType type, double v) {
    out.emplace_back(family(std::move(name), std::move(help), type)).metric.push_back(value({}, v, type));
  };
  scalar("traefik_config_reloads_total", "Configurations applied, the first one included.", MetricType::Counter,
         static_cast<double>(t.reloads - t.reload_failures));
  scalar("traefik_config_reloads_failure_total", "Reloads refused (the previous configuration kept serving).",
         MetricType::Counter, static_cast<double>(t.reload_failures));
  scalar("traefik_config_last_reload_success", "Unix time of the last configuration applied.", MetricType::Gauge,
         t.last_reload_success);
  scalar("traefik_config_last_reload_failure", "Unix time of the last reload refused; 0: none.", MetricType::Gauge,
         t.last_reload_failure);
}

// A watching provider (etcd): its watch and how far the configuration serving is behind it.
void add_providers(std::vector<MetricFamily>& out) {
  const auto states = observe::provider_states();
  if (states.empty()) return;
  auto& up = out.emplace_back(family("snigate_provider_watching", "1 while the provider's watch is up.", MetricType::Gauge));
  auto& seen = out.emplace_back(family("snigate_provider_revision_seen",
                                       "Newest store revision the provider's watch has reported.", MetricType::Gauge));
  auto& applied = out.emplace_back(family("snigate_provider_revision_applied",
                                          "Store revision of the configuration serving; behind seen: a change "
                                          "that does not load.",
                                          MetricType::Gauge));
  for (const auto& [name, s] : states) {
    up.metric.push_back(value({{"provider", name}}, s.watching ? 1 : 0, MetricType::Gauge));
    seen.metric.push_back(value({{"provider", name}}, static_cast<double>(s.seen), MetricType::Gauge));
    applied.metric.push_back(value({{"provider", name}}, static_cast<double>(s.applied), MetricType::Gauge));
  }
}

void add_acme(std::vector<MetricFamily>& out) {
  auto& failures = out.emplace_back(family("snigate_acme_order_failures",
                                           "Failed attempts in a row to order or renew a certificate (0: the last "
                                           "one worked, or none was needed yet).",
                                           MetricType::Gauge));
  for (const acme::JobState& j : acme::running_jobs())
    failures.metric.push_back(value({{"resolver", j.resolver}, {"domain", j.main}}, j.failures, MetricType::Gauge));
}

void add_snapshot(std::vector<MetricFamily>& out, const observe::MetricsTotals& t, const session::Snapshot& snap) {
  auto& open = out.emplace_back(family("traefik_open_connections", "Open connections, by entry point.", MetricType::Gauge));
  for (const auto& [name, entry] : snap.entries) {
    if (entry.ep.admin) continue;
    auto it = t.open.find(name);
    open.metric.push_back(value({{"entrypoint", name}, {"protocol", "TCP"}},
                                it == t.open.end() ? 0.0 : static_cast<double>(it->second), MetricType::Gauge));
  }
  auto& certs = out.emplace_back(family("traefik_tls_certs_not_after", "Certificates' expiry, Unix time.", MetricType::Gauge));
  for (const auto& c : snap.certs.certs) {
    const tls::CertFacts f = tls::cert_facts(*c);
    certs.metric.push_back(value({{"cn", f.cn}, {"sans", f.sans}, {"serial", f.serial}}, f.not_after, MetricType::Gauge));
  }
  for (const acme::IssuedCert& c : acme::issued().all()) {  // as Traefik counts its ACME certificates here too
    const tls::CertFacts f = tls::cert_facts(*c.cert);
    certs.metric.push_back(value({{"cn", f.cn}, {"sans", f.sans}, {"serial", f.serial}}, f.not_after, MetricType::Gauge));
  }
  auto& up = out.emplace_back(family("traefik_service_server_up", "1 when a health-checked server is up, else 0.",
                                     MetricType::Gauge));
  const auto now = balance::steady_now();
  for (const auto& [name, svc] : snap.services) {
    if (!svc->health_check) continue;
    for (const auto& s : svc->servers)
      up.metric.push_back(value({{"service", qualified(svc->name)}, {"url", s.address}}, balance::looks_usable(*s.health, now) ? 1 : 0,
                                MetricType::Gauge));
  }
}

}  // namespace

std::string prometheus_text(const State& state) {
  const observe::MetricsTotals t = observe::collect_metrics();
  const std::shared_ptr<const session::Snapshot> snap = state.snapshot();
  const config::Prometheus p = state.stat.prometheus.value_or(config::Prometheus{});
  const LabelChoice on{p.add_entry_points_labels, p.add_routers_labels, p.add_services_labels};
  std::vector<MetricFamily> families;
  add_config(families, t);
  add_providers(families);
  add_snapshot(families, t, *snap);
  add_acme(families);
  add_connections(families, t, on);
  add_histograms(families, t, on);
  add_counts(families, t);
  std::erase_if(families, [](const MetricFamily& f) { return f.metric.empty(); });
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace snigate::admin
