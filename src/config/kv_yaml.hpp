#pragma once
// Traefik's KV layout and the YAML of a dynamic configuration file, both ways.
//
// A KV store holds one key per value: traefik/tcp/routers/db/rule, lists as
// numbered segments (.../entrypoints/0), and an empty section as "true"
// (.../tls). kv_to_yaml() writes those keys as a YAML document that the file
// loader reads unchanged, one key per line, so every finding can name the key
// it came from; yaml_to_kv() is its inverse, for `snigate kv put`.
#include "config/yaml_doc.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace snigate::config {

struct KvDocument {
  std::string yaml;                    // the keys under the root as one YAML map
  std::vector<std::string> line_keys;  // line_keys[i]: the key written on line i + 1 ("" if none)
};

// Keys outside root_key + "/" are left out; empty segments ("a//b") are
// skipped. A segment whose children are all numbers is a list, in numeric
// order. A key that has children and a value of its own keeps the children
// (its value is "true" by convention). An empty value is YAML's null. A
// router's tls = true (and no more) is written tls: {}, so the document reads
// as a file too.
KvDocument kv_to_yaml(const KvPairs& pairs, std::string_view root_key);

// The dynamic part of a file (its top-level tcp and tls; the rest is not
// snigate's or is static) as keys under root_key: maps by key (in lower
// case, as Traefik's KV documentation writes them; the names of routers,
// services... as written), lists by index, an empty map as "true", null as "".
// Merge keys (<<) are resolved.
KvPairs yaml_to_kv(const yaml::Node& doc, std::string_view root_key);

}  // namespace snigate::config
