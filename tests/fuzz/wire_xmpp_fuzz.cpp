// libFuzzer target for the XMPP stream opening (wire/xmpp). Besides the whole
// input it replays every prefix, as a gateway parses again after each read,
// and checks: a verdict does not change when more bytes come, nothing
// complete claims more bytes than it was given, and every refusal says why.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/xmpp.hpp"

namespace {

namespace wire = snigate::wire;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Verdicts {
  wire::StreamHeaderRead header;
  wire::XmppElementRead element;
};

Verdicts run(std::string_view bytes) {
  Verdicts v{wire::parse_stream_header(bytes, 256), wire::next_xmpp_element(bytes, 512)};
  if (v.header.status == wire::XmlStatus::complete) check(v.header.header.size <= bytes.size());
  if (v.header.status == wire::XmlStatus::bad) check(!v.header.error.empty());
  if (v.element.status == wire::XmlStatus::complete) check(v.element.element.size <= bytes.size());
  if (v.element.status == wire::XmlStatus::bad) check(!v.element.error.empty());
  for (const char c : wire::xml_escape(bytes)) check(c != '<' && c != '>' && c != '\'' && c != '"' && c != '\n');
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const Verdicts whole = run(all);
  for (std::size_t n = 0; n < all.size(); ++n) {
    const Verdicts part = run(all.substr(0, n));
    // A verdict reached on a prefix is the verdict on the whole.
    if (part.header.status != wire::XmlStatus::need_more) {
      check(part.header.status == whole.header.status);
      if (part.header.status == wire::XmlStatus::complete) check(part.header.header.size == whole.header.header.size);
    }
    if (part.element.status != wire::XmlStatus::need_more) {
      check(part.element.status == whole.element.status);
      if (part.element.status == wire::XmlStatus::complete) check(part.element.element.size == whole.element.element.size);
    }
  }
  return 0;
}
