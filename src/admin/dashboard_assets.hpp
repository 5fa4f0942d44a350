#pragma once
// The dashboard's files (src/admin/assets/), compiled into the binary: the
// build turns them into a generated .cpp (cmake/embed_assets.cmake), so
// snigate serves them without reading anything from disk.
#include <span>
#include <string_view>

namespace snigate::admin {

struct EmbeddedFile {
  std::string_view name;   // file name, e.g. "app.js"
  std::string_view bytes;  // its contents
};

// Sorted by name.
std::span<const EmbeddedFile> dashboard_files();

}  // namespace snigate::admin
