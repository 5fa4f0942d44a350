// The YAML loader on arbitrary bytes: it must report errors, never crash or
// throw. The input goes through a file because load() reads files, as it
// does in production (relative paths, providers).
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/snigate-config-fuzz-" + std::to_string(::getpid()) + ".yaml";
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  snigate::config::Loaded l = snigate::config::load(path);
  for (const auto& e : l.errors) (void)e.to_string();
  return 0;
}
