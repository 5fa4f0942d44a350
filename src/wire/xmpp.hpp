#pragma once
// The opening of an XMPP stream (RFC 6120 4.2, 5.4): the stream header that
// names the domain, and the top-level elements a gateway must read to take
// STARTTLS (<stream:features>, <starttls/>, <proceed/>). Not an XML parser:
// a bounded scanner of tags, which refuses what RFC 6120 11.1 forbids in a
// stream (comments, processing instructions, DTDs).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snigate::wire {

enum class XmlStatus { need_more, complete, bad };

struct XmlTag {
  enum class Kind : std::uint8_t { declaration, open, close, empty };
  Kind kind = Kind::open;
  std::string name;  // as written, prefix included: "stream:stream", "starttls"
  std::vector<std::pair<std::string, std::string>> attributes;  // values with entities resolved
  std::size_t size = 0;  // bytes through its '>', text and white space before it included

  std::string attribute(std::string_view key) const;  // "" when absent
  std::string_view local_name() const;                // after the prefix
};

struct XmlTagRead {
  XmlStatus status = XmlStatus::need_more;
  XmlTag tag;
  std::string error;  // bad: what is wrong, and where
};

// The next tag in bytes, within max bytes.
XmlTagRead next_xml_tag(std::string_view bytes, std::size_t max);

// <?xml ...?> (optional), then <stream:stream ...>.
struct StreamHeader {
  std::string to, from, xmlns, version;
  std::size_t size = 0;
};
struct StreamHeaderRead {
  XmlStatus status = XmlStatus::need_more;
  StreamHeader header;
  std::string error;
};
StreamHeaderRead parse_stream_header(std::string_view bytes, std::size_t max = 4096);

// One whole top-level element of a stream (<stream:features>...</...>,
// <starttls/>), or the stream's end (</stream:stream>: name "/stream").
struct XmppElement {
  std::string name;                   // local name: "features", "starttls", "proceed", "failure", "error"
  std::string xmlns;
  std::vector<std::string> children;  // local names of its child elements
  std::size_t size = 0;
};
struct XmppElementRead {
  XmlStatus status = XmlStatus::need_more;
  XmppElement element;
  std::string error;
};
XmppElementRead next_xmpp_element(std::string_view bytes, std::size_t max = 16384);

// text with &, <, >, ' and " as entities: for a value snigate writes.
std::string xml_escape(std::string_view text);

}  // namespace snigate::wire
