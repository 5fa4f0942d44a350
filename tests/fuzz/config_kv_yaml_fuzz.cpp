// KV pairs to YAML (config/kv_yaml) on arbitrary keys and values: the YAML
// written must always read back (every byte of a value quoted as it must be),
// with one key per line, and the loader must report errors, never crash.
// Input: records split by '\0', each "key\x01value"; keys go under traefik/.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/kv_yaml.hpp"
#include "config/yaml_doc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace snigate::config;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  KvPairs pairs;
  for (std::size_t pos = 0; pos <= in.size();) {
    std::size_t end = in.find('\0', pos);
    if (end == std::string_view::npos) end = in.size();
    const std::string_view rec = in.substr(pos, end - pos);
    const std::size_t sep = rec.find('\x01');
    pairs["traefik/" + std::string(rec.substr(0, sep))] =
        sep == std::string_view::npos ? "" : std::string(rec.substr(sep + 1));
    pos = end + 1;
  }
  const KvDocument doc = kv_to_yaml(pairs, "traefik");
  std::size_t lines = 0;
  for (const char c : doc.yaml) lines += c == '\n';
  if (lines != doc.line_keys.size()) std::abort();
  if (std::holds_alternative<yaml::SyntaxError>(yaml::parse(doc.yaml)))
    std::abort();  // kv_to_yaml wrote YAML that does not read back
  Static stat;
  stat.etcd.emplace();
  Loaded l;
  load_dynamic(stat, l, &pairs);
  for (const auto& e : l.errors) (void)e.to_string();
  return 0;
}
