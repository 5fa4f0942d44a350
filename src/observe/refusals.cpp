#include "observe/refusals.hpp"

#include <algorithm>
#include <array>
#include <mutex>

namespace snigate::observe {
namespace {

struct Ring {
  std::mutex mutex;
  std::array<RefusalRecord, kRefusalsKept> slots;
  std::size_t next = 0;   // where the next one goes
  std::size_t count = 0;  // how many slots are filled
};

Ring& ring() {
  static Ring r;
  return r;
}

}  // namespace

void remember_refusal(const AccessRecord& rec) {
  RefusalRecord r{rec.start, std::string(rec.entry_point), rec.client, rec.sni, rec.alpn, rec.mode,
                  rec.router, rec.end, rec.detail};
  Ring& g = ring();
  std::lock_guard lock(g.mutex);
  g.slots[g.next] = std::move(r);
  g.next = (g.next + 1) % kRefusalsKept;
  if (g.count < kRefusalsKept) ++g.count;
}

std::vector<RefusalRecord> recent_refusals(std::size_t limit) {
  Ring& g = ring();
  std::lock_guard lock(g.mutex);
  std::vector<RefusalRecord> out;
  const std::size_t n = std::min(limit, g.count);
  out.reserve(n);
  for (std::size_t i = 1; i <= n; ++i) out.push_back(g.slots[(g.next + kRefusalsKept - i) % kRefusalsKept]);
  return out;
}

}  // namespace snigate::observe
