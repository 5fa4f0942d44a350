#pragma once
// Configuration as written by the user, in Traefik's file-provider format (YAML),
// as plain structs. The loader fills these and reports every error with
// file:line and the key path; compile() (session/snapshot) turns them into the
// immutable Snapshot that connections use.
#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace snigate::config {

using Duration = std::chrono::milliseconds;

// A file name that the locations of one file share: a configuration of
// 100,000 routers holds a million of them, and a copy of a name each would
// outweigh the routers.
class FileName {
 public:
  FileName() = default;
  FileName(std::string name)  // NOLINT: implicit, a FileName is a string to every reader
      : name_(name.empty() ? nullptr : std::make_shared<const std::string>(std::move(name))) {}
  FileName(const char* name) : FileName(std::string(name)) {}  // NOLINT: as above
  const std::string& str() const { return name_ ? *name_ : empty_name(); }
  operator const std::string&() const { return str(); }  // NOLINT: as above
  bool empty() const { return str().empty(); }
  bool starts_with(std::string_view prefix) const { return str().starts_with(prefix); }
  friend bool operator==(const FileName& a, const FileName& b) { return a.name_ == b.name_ || a.str() == b.str(); }
  friend bool operator==(const FileName& a, const std::string& b) { return a.str() == b; }
  friend bool operator==(const FileName& a, const char* b) { return a.str() == b; }
  friend std::ostream& operator<<(std::ostream& out, const FileName& f) { return out << f.str(); }

 private:
  static const std::string& empty_name() {
    static const std::string empty;
    return empty;
  }
  std::shared_ptr<const std::string> name_;
};

// Where a value was written, for error messages.
struct Loc {
  FileName file;
  int line = 0;  // 1-based; 0 when the value is a default
};

struct Error {
  Loc loc;
  std::string path;     // key path, e.g. "tcp.routers.db.rule"
  std::string message;  // what is wrong
  std::string to_string() const;  // "file:line: path: message"
};

// ---- static part ---------------------------------------------------------

enum class Protocol { tcp, mysql, postgres, smtp, imap, pop3, xmpp };  // entryPoints.<n>.protocol (extension)

// As written in entryPoints.<n>.protocol.
constexpr bool is_mail(Protocol p) { return p == Protocol::smtp || p == Protocol::imap || p == Protocol::pop3; }

constexpr const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::mysql: return "mysql";
    case Protocol::postgres: return "postgres";
    case Protocol::smtp: return "smtp";
    case Protocol::imap: return "imap";
    case Protocol::pop3: return "pop3";
    case Protocol::xmpp: return "xmpp";
    case Protocol::tcp: break;
  }
  return "tcp";
}

// entryPoints.<n>.proxyProtocol: who may say, with a PROXY protocol header,
// which client a connection is for (docs/proxy-protocol.md).
struct ProxyProtocolIn {
  std::vector<std::string> trusted_ips;  // trustedIPs: addresses or CIDR blocks, checked at load
  bool insecure = false;                 // insecure: every peer is trusted
  Loc loc;
};

struct EntryPoint {
  std::string name;
  Loc loc;
  std::string address;  // "host:port" or ":port" (all addresses), "[v6]:port"
  // Traefik keys with a TCP meaning:
  Duration grace_timeout{10'000};   // transport.lifeCycle.graceTimeOut: drain time on SIGTERM
  Duration accept_grace_timeout{0};  // transport.lifeCycle.requestAcceptGraceTimeout: after SIGTERM,
                                     // keep accepting this long before the drain starts
  bool as_default = false;          // asDefault: routers without entryPoints attach here (when any is marked)
  // Extensions (not Traefik keys):
  Protocol protocol = Protocol::tcp;  // protocol
  Duration tcp_idle_timeout{3'600'000};  // tcpIdleTimeout: no bytes either way for this long closes
                                         // the connection; 0: no limit. A router's idleTimeout overrides it
  Duration client_hello_timeout{5'000};  // clientHelloTimeout (or Traefik's respondingTimeouts.readTimeout):
                                         // from accept, the ClientHello must have arrived and a
                                         // terminated TLS handshake completed by then
  Duration first_byte_timeout{1'000};    // firstByteTimeout: on a mixed entry point, silence this long
                                         // means a server-first client; it goes to the catch-all
  bool reuse_port = false;  // reusePort: a SO_REUSEPORT socket per worker instead of one per pair
  std::optional<ProxyProtocolIn> proxy_protocol;  // proxyProtocol; absent: no header is looked for
  std::string mail_hostname;  // mail.hostname: the name in snigate's own greeting on smtp, imap
                              // and pop3 entry points; "": the machine's host name
  // Serves the API, /metrics or /ping over HTTP (set by the loader from api,
  // metrics and ping); such an entry point carries no TCP routers.
  bool admin = false;
};

// api: Traefik's API and dashboard, served over HTTP on its entry point.
struct Api {
  bool insecure = false;         // insecure: serve it on the entry point named traefik
  bool dashboard = true;         // dashboard: also serve /dashboard/
  std::string base_path = "/";   // basePath: prefix of /api, /dashboard (always starts and ends with "/")
  Loc loc;
};

// metrics.prometheus
struct Prometheus {
  std::string entry_point = "traefik";                // entryPoint: where /metrics is served
  std::vector<double> buckets{0.1, 0.3, 1.2, 5.0};    // buckets: histogram upper bounds, seconds, ascending
  bool add_entry_points_labels = true;                // addEntryPointsLabels
  bool add_routers_labels = false;                    // addRoutersLabels
  bool add_services_labels = true;                    // addServicesLabels
  Loc loc;
};

// ping
struct Ping {
  std::string entry_point = "traefik";  // entryPoint: where /ping is served
  Loc loc;
};

// providers.etcd.tls
struct EtcdTls {
  std::string ca;    // ca: CA file (PEM) for etcd's certificate; empty: the system's CAs
  std::string cert;  // cert: client certificate (PEM file), with key
  std::string key;   // key
  bool insecure_skip_verify = false;  // insecureSkipVerify
};

// providers.etcd: dynamic configuration from etcd, in Traefik's KV layout.
struct EtcdProvider {
  std::vector<std::string> endpoints{"127.0.0.1:2379"};  // endpoints: "host:port" or "http(s)://host:port"
  std::string root_key = "traefik";                     // rootKey
  std::string username;                                 // username, with password: etcd's auth
  std::string password;
  std::optional<EtcdTls> tls;  // tls present: https to every endpoint
  Loc loc;
};

// certificatesResolvers.<name>.acme: certificates from an ACME CA (docs/acme.md).
struct AcmeResolver {
  std::string name;
  Loc loc;
  std::string email;
  std::string ca_server = "https://acme-v02.api.letsencrypt.org/directory";
  std::string storage;  // absolute after load; default acme.json beside the static file
  std::string key_type = "RSA4096";  // EC256, EC384, RSA2048, RSA4096, RSA8192
  int certificates_duration = 2160;  // hours a certificate is expected to last
  std::string preferred_chain;       // the issuer CN of the chain's root to prefer
  std::string eab_kid;               // eab.kid and eab.hmacEncoded (base64url)
  std::string eab_hmac;
  std::vector<std::string> ca_certificates;  // PEM files added to the system CAs for caServer
  bool ca_system_cert_pool = true;   // with caCertificates: also trust the system CAs
  Duration client_timeout{120'000};  // one HTTP exchange with the CA
  bool tls_challenge = false;        // tlsChallenge present
  std::string http_entry_point;      // httpChallenge.entryPoint; empty: no HTTP-01
  Loc http_entry_point_loc;
  // etcdKey (extension): the state lives under this etcd key, shared by a fleet,
  // instead of in storage; needs providers.etcd.
  std::string etcd_key;
  Loc etcd_key_loc;
};

// Keys and values read from a KV store: the full key ("traefik/tcp/routers/r/rule") -> value.
using KvPairs = std::map<std::string, std::string>;

struct Static {
  std::map<std::string, EntryPoint> entry_points;
  std::optional<Api> api;                // api present
  std::optional<Prometheus> prometheus;  // metrics.prometheus present
  std::optional<Ping> ping;              // ping present
  std::string file_filename;   // providers.file.filename (absolute after load)
  std::string file_directory;  // providers.file.directory (absolute after load)
  bool watch = true;           // providers.file.watch
  std::optional<EtcdProvider> etcd;  // providers.etcd
  // providers.providersThrottleDuration: a provider's first change applies at
  // once; then at most one reload per this duration, with the latest state.
  Duration providers_throttle{2'000};
  std::string log_level = "INFO";  // log.level: DEBUG, INFO, WARN, ERROR
  std::string access_log_path;     // accessLog.filePath; empty: no access log ("-": stdout)
  bool access_log = false;         // accessLog present
  int workers = 0;                 // snigate.workers (extension); 0: one per core
  std::string default_rule_syntax = "v3";  // core.defaultRuleSyntax: v2 or v3
  Loc default_rule_syntax_loc;
  std::map<std::string, AcmeResolver> acme;  // certificatesResolvers
  bool ocsp = false;               // ocsp present: staple OCSP responses (docs/configuration.md)
  std::map<std::string, std::string> ocsp_responder_overrides;  // ocsp.responderOverrides: URL -> URL
  std::string static_file;         // the file load() read (absolute): its tcp/tls parts are
                                   // dynamic too, and load_dynamic() reads them again
  Loc provider_loc;                // where providers.file.filename/directory was written
};

// ---- dynamic part --------------------------------------------------------

// tls.domains[i]: the names one ACME certificate is ordered for.
struct CertDomain {
  std::string main;
  std::vector<std::string> sans;
  Loc loc;
};

struct RouterTls {
  bool passthrough = false;
  std::string options;  // tls.options name; empty: "default"
  Loc options_loc;
  std::string cert_resolver;  // certificatesResolvers name; empty: none
  Loc cert_resolver_loc;
  std::vector<CertDomain> domains;  // empty: the rule's HostSNI names
};

struct Router {
  std::string name;
  Loc loc;
  std::vector<std::string> entry_points;  // empty: every entry point (Traefik default)
  std::vector<Loc> entry_point_locs;      // where each of entry_points was written
  std::string rule;
  Loc rule_loc;
  std::optional<int> priority;  // default: rule length
  // ruleSyntax: "v2" or "v3"; empty: core.defaultRuleSyntax. After load, a
  // router in v2 syntax has `rule` in its v3 spelling and the rule as written
  // in `rule_as_written`, whose length is its default priority (as in Traefik).
  std::string rule_syntax;
  Loc rule_syntax_loc;
  std::string rule_as_written;
  std::string service;
  Loc service_loc;
  std::optional<RouterTls> tls;  // present: the router matches TLS clients only
  // Extension, for routers of a `protocol: mysql` entry point: mysql.allowPlaintext
  // lets clients that send no SSLRequest use this router (routed by user@host).
  bool mysql_allow_plaintext = false;
  Loc mysql_loc;  // where the mysql section was written (0: absent)
  // Extension, for PostgreSQL clients: postgres.allowPlaintext lets clients
  // that do not ask for TLS use this router (routed by user@host).
  bool postgres_allow_plaintext = false;
  Loc postgres_loc;
  // Extension: idleTimeout replaces the entry point's tcpIdleTimeout for the
  // connections this router takes (0: no limit).
  std::optional<Duration> idle_timeout;
  // middlewares: names of tcp.middlewares, run in this order ("name@file" is "name").
  std::vector<std::string> middlewares;
  std::vector<Loc> middleware_locs;  // where each of middlewares was written
  // Of the router's text (config/fingerprint.hpp); 0: not to be reused.
  std::uint64_t fingerprint = 0;
  // Written exactly as in the configuration that serves, among the same
  // services, middlewares and TLS options: not read again, only its name and
  // place are here, and compile() takes over the serving Routes.
  bool reused = false;
};

struct Server {
  std::string address;  // "host:port"
  Loc loc;
  bool tls = false;     // re-encrypt to this server (Traefik: servers[].tls)
};

// loadBalancer.healthCheck: Traefik v3.6's TCP keys, plus tls and protocol
// (snigate extensions). docs/services.md says what each probe does.
struct HealthCheck {
  Loc loc;
  int port = 0;                 // port: probe this port instead of the server's; 0: the server's
  std::string send;             // send: written once connected
  std::string expect;           // expect: the server's answer must contain it
  Duration interval{30'000};    // interval: between probes of a server that is up
  std::optional<Duration> unhealthy_interval;  // unhealthyInterval: of a server that is down; unset: interval
  Duration timeout{5'000};      // timeout: for the whole probe
  bool tls = false;             // tls (extension): a full TLS handshake, with the serversTransport's settings
  std::string protocol;         // protocol (extension): "", "mysql" or "postgres"
};

// loadBalancer.passiveHealthCheck (extension): a server whose connections
// fail `failures` times in a row is skipped for `downtime`. failures 0: off.
struct PassiveHealthCheck {
  int failures = 3;
  Duration downtime{10'000};
};

// One entry of weighted.services.
struct WeightedChild {
  std::string name;  // a service of tcp.services ("x@file" as "x")
  int weight = 1;
  Loc loc;
};

struct Service {
  std::string name;
  Loc loc;
  std::vector<Server> servers;      // loadBalancer.servers
  std::string servers_transport;    // loadBalancer.serversTransport; empty: "default"
  Loc servers_transport_loc;
  // loadBalancer.proxyProtocol.version (deprecated in Traefik, still read):
  // 1 or 2, 0 when absent. Wins over the serversTransport's.
  int proxy_protocol_version = 0;
  std::optional<HealthCheck> health_check;  // loadBalancer.healthCheck
  PassiveHealthCheck passive;               // loadBalancer.passiveHealthCheck
  // A weighted service (weighted.services) has children instead of servers.
  bool weighted = false;
  std::vector<WeightedChild> children;
  bool weighted_health_check = false;  // weighted.healthCheck: skip children whose servers are all down
};

struct CertFiles {
  std::string cert_file;  // path, or the PEM text itself
  std::string key_file;
  Loc loc;
};

struct ServersTransport {
  std::string name;
  Loc loc;
  Duration dial_timeout{30'000};       // dialTimeout
  Duration dial_keep_alive{15'000};    // dialKeepAlive: TCP keep-alive interval; 0: the default, negative: off
  Duration termination_delay{100};     // terminationDelay: after one side half-closes, how long the other may still send
  std::string server_name;             // tls.serverName
  bool insecure_skip_verify = false;   // tls.insecureSkipVerify
  std::vector<std::string> root_cas;   // tls.rootCAs (paths or PEM)
  std::vector<CertFiles> certificates; // tls.certificates: client certificates for mTLS to servers
  int proxy_protocol_version = 0;      // proxyProtocol.version: 1 or 2 (an empty map: 2); 0: none sent
};

struct TlsOptions {
  std::string name;
  Loc loc;
  std::string min_version = "VersionTLS12";  // minVersion
  std::string max_version;                   // maxVersion; empty: highest supported
  std::vector<std::string> cipher_suites;    // TLS 1.2 suites, Go names (TLS_ECDHE_...)
  std::vector<std::string> curve_preferences;  // CurveP256, CurveP384, CurveP521, X25519
  // alpnProtocols. Empty (the default): snigate negotiates no ALPN, so a client
  // never agrees to HTTP/2 with a TCP backend that does not speak it.
  std::vector<std::string> alpn_protocols;
  bool sni_strict = false;                   // sniStrict
  bool disable_session_tickets = false;      // disableSessionTickets
  std::vector<std::string> client_ca_files;  // clientAuth.caFiles
  std::string client_auth_type = "NoClientCert";  // clientAuth.clientAuthType
};

// tcp.middlewares.<name>: exactly one of these kinds (docs/policy.md).
enum class MiddlewareKind { ip_allow_list, in_flight_conn, rate_limit };

struct Middleware {
  std::string name;
  Loc loc;
  MiddlewareKind kind = MiddlewareKind::ip_allow_list;
  // ipAllowList.sourceRange: addresses and CIDR blocks, each checked at load
  // (a list that is empty or has a bad entry is an error).
  std::vector<std::string> source_range;
  int amount = 0;  // inFlightConn.amount: open connections per client IP; 0 refuses every client
  // rateLimit (extension): new connections per client IP, a token bucket that
  // holds `burst` and refills `average` per `period`. average 0: no limit (as
  // Traefik's HTTP rateLimit); burst 0 (not written): average.
  int average = 0;
  int burst = 0;
  Duration period{1'000};
};

struct Dynamic {
  std::map<std::string, Router> routers;                       // tcp.routers
  std::map<std::string, Middleware> middlewares;               // tcp.middlewares
  std::map<std::string, Service> services;                     // tcp.services
  std::map<std::string, ServersTransport> servers_transports;  // tcp.serversTransports
  std::vector<CertFiles> certificates;                         // tls.certificates
  std::map<std::string, TlsOptions> tls_options;               // tls.options
  std::optional<CertFiles> default_certificate;                // tls.stores.default.defaultCertificate
  // The fingerprint of every source less its routers (config/fingerprint.hpp);
  // a reload may reuse routers only when it has not changed.
  std::uint64_t context = 0;
};

// Everything one load produced. A load with errors is never served.
struct Loaded {
  Static stat;
  Dynamic dyn;
  std::vector<Error> errors;
  std::vector<Error> warnings;  // keys accepted for compatibility and ignored, etc.
  std::optional<KvPairs> etcd;   // etcd's keys, when this configuration includes them
};

// Reads the static file and then the dynamic files it names (providers.file);
// a single file may hold both parts. Relative paths (file provider, certificate
// files) are taken relative to the file that names them. Never throws.
Loaded load(const std::string& static_path);

// Only the dynamic part, from the files the static part names and, with
// providers.etcd, from etcd's keys (as read by the caller; names "x@etcd").
// Used on reload.
struct Reuse;  // config/fingerprint.hpp

// With `reuse` (the serving configuration's loan), routers written as before
// come back as placeholders (Router::reused) when nothing else has changed.
void load_dynamic(const Static& stat, Loaded& into, const KvPairs* etcd = nullptr, const Reuse* reuse = nullptr);

// The built-in default (no --config): entry point "default" on 127.0.0.1:8443,
// one router HostSNI(`*`) with tls: {} to whoami@internal.
Loaded builtin_default();

Duration parse_duration(std::string_view text, bool* ok);  // "10s", "1m30s", "250ms", bare number = seconds

}  // namespace snigate::config

template <>
struct fmt::formatter<snigate::config::FileName> : fmt::formatter<std::string_view> {
  auto format(const snigate::config::FileName& f, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(f.str(), ctx);
  }
};
