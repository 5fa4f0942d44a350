#include "wire/xmpp.hpp"

#include "wire/text_line.hpp"

namespace snigate::wire {

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool name_char(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '_' || c == '-' || c == '.';
}

std::string at(std::size_t i) { return " at byte " + std::to_string(i); }

XmlTagRead bad(std::string error) {
  XmlTagRead r;
  r.status = XmlStatus::bad;
  r.error = std::move(error);
  return r;
}

// The five predefined entities and numeric references of ASCII characters.
bool unescape(std::string_view v, std::string& out) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '&') {
      out += v[i];
      continue;
    }
    const std::size_t end = v.find(';', i);
    if (end == std::string_view::npos) return false;
    const std::string_view e = v.substr(i + 1, end - i - 1);
    if (e == "amp") out += '&';
    else if (e == "lt") out += '<';
    else if (e == "gt") out += '>';
    else if (e == "apos") out += '\'';
    else if (e == "quot") out += '"';
    else if (e.size() > 1 && e.size() < 5 && e[0] == '#' && e.substr(1).find_first_not_of("0123456789") == std::string_view::npos) {
      const int code = std::stoi(std::string(e.substr(1)));
      if (code < 0x20 || code > 0x7e) return false;
      out += static_cast<char>(code);
    } else {
      return false;
    }
    i = end;
  }
  return true;
}

// Attributes from i (after the name) up to '>' or '/>'; i ends on that.
bool read_attributes(std::string_view b, std::size_t& i, XmlTag& tag, std::string& error) {
  for (;;) {
    while (i < b.size() && space(b[i])) ++i;
    if (i == b.size()) return true;  // need more
    if (b[i] == '>' || b[i] == '/' || b[i] == '?') return true;
    const std::size_t start = i;
    while (i < b.size() && name_char(b[i])) ++i;
    if (i == b.size()) return true;
    if (i == start) {
      error = "the byte " + hex_byte(b[i]) + at(i) + " cannot start an attribute name";
      return false;
    }
    std::string key(b.substr(start, i - start));
    while (i < b.size() && space(b[i])) ++i;
    if (i == b.size()) return true;
    if (b[i] != '=') {
      error = "attribute " + key + " has no '='" + at(i);
      return false;
    }
    ++i;
    while (i < b.size() && space(b[i])) ++i;
    if (i == b.size()) return true;
    const char quote = b[i];
    if (quote != '\'' && quote != '"') {
      error = "the value of attribute " + key + " is not quoted" + at(i);
      return false;
    }
    const std::size_t close = b.find(quote, i + 1);
    if (close == std::string_view::npos) {
      i = b.size();
      return true;
    }
    std::string value;
    const std::string_view raw = b.substr(i + 1, close - i - 1);
    if (raw.find('<') != std::string_view::npos || !unescape(raw, value)) {
      error = "the value of attribute " + key + " holds '<' or an unknown entity" + at(i);
      return false;
    }
    tag.attributes.emplace_back(std::move(key), std::move(value));
    i = close + 1;
  }
}

}  // namespace

std::string XmlTag::attribute(std::string_view key) const {
  for (const auto& [k, v] : attributes)
    if (k == key) return v;
  return {};
}

std::string_view XmlTag::local_name() const {
  const std::string_view n = name;
  const std::size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

XmlTagRead next_xml_tag(std::string_view bytes, std::size_t max) {
  const std::string_view b = bytes.substr(0, max);
  const std::size_t open = b.find('<');
  if (open == std::string_view::npos)
    return bytes.size() >= max ? bad("no tag within " + std::to_string(max) + " bytes") : XmlTagRead{};
  std::size_t i = open + 1;
  if (i == b.size()) return bytes.size() >= max ? bad("a tag longer than " + std::to_string(max) + " bytes") : XmlTagRead{};
  XmlTag tag;
  if (b[i] == '!') return bad("a comment, CDATA or DTD" + at(open) + ", which an XMPP stream must not hold");
  if (b[i] == '?') {
    tag.kind = XmlTag::Kind::declaration;
    ++i;
  } else if (b[i] == '/') {
    tag.kind = XmlTag::Kind::close;
    ++i;
  }
  const std::size_t name_start = i;
  while (i < b.size() && name_char(b[i])) ++i;
  tag.name = std::string(b.substr(name_start, i - name_start));
  if (i < b.size() && tag.name.empty()) return bad("the byte " + hex_byte(b[i]) + at(i) + " cannot start a tag name");
  if (tag.kind == XmlTag::Kind::declaration && i < b.size() && tag.name != "xml")
    return bad("a processing instruction <?" + tag.name + at(open) + ", which an XMPP stream must not hold");
  std::string error;
  if (i < b.size() && !read_attributes(b, i, tag, error)) return bad(error);
  if (i >= b.size()) return bytes.size() >= max ? bad("a tag longer than " + std::to_string(max) + " bytes") : XmlTagRead{};
  if (b[i] == '/' || b[i] == '?') {
    const bool slash = b[i] == '/';
    if (i + 1 == b.size()) return bytes.size() >= max ? bad("a tag longer than " + std::to_string(max) + " bytes") : XmlTagRead{};
    if (b[i + 1] != '>') return bad("'" + std::string(1, b[i]) + "' not followed by '>'" + at(i));
    if (slash && tag.kind != XmlTag::Kind::open) return bad("a malformed tag" + at(open));
    if (!slash && tag.kind != XmlTag::Kind::declaration) return bad("a malformed tag" + at(open));
    if (slash) tag.kind = XmlTag::Kind::empty;
    ++i;
  } else if (tag.kind == XmlTag::Kind::declaration) {
    return bad("the XML declaration does not end with '?>'" + at(i));
  }
  tag.size = i + 1;
  return {XmlStatus::complete, std::move(tag), {}};
}

StreamHeaderRead parse_stream_header(std::string_view bytes, std::size_t max) {
  StreamHeaderRead r;
  std::size_t used = 0;
  for (int n = 0; n < 2; ++n) {
    const XmlTagRead t = next_xml_tag(bytes.substr(used), max - used);
    if (t.status != XmlStatus::complete) {
      r.status = t.status;
      r.error = t.error;
      return r;
    }
    used += t.tag.size;
    if (n == 0 && t.tag.kind == XmlTag::Kind::declaration) continue;
    if (t.tag.kind != XmlTag::Kind::open || t.tag.local_name() != "stream") {
      r.status = XmlStatus::bad;
      r.error = "the stream does not start with <stream:stream> (it starts with <" + t.tag.name + ">)";
      return r;
    }
    r.header = {t.tag.attribute("to"), t.tag.attribute("from"), t.tag.attribute("xmlns"), t.tag.attribute("version"),
                used};
    r.status = XmlStatus::complete;
    return r;
  }
  r.status = XmlStatus::bad;
  r.error = "two XML declarations";
  return r;
}

XmppElementRead next_xmpp_element(std::string_view bytes, std::size_t max) {
  XmppElementRead r;
  std::size_t used = 0;
  int depth = 0;
  for (;;) {
    const XmlTagRead t = next_xml_tag(bytes.substr(used), max - used);
    if (t.status != XmlStatus::complete) {
      r.status = t.status;
      r.error = t.error;
      return r;
    }
    used += t.tag.size;
    const XmlTag& tag = t.tag;
    if (tag.kind == XmlTag::Kind::declaration) {
      r.status = XmlStatus::bad;
      r.error = "an XML declaration inside the stream";
      return r;
    }
    if (depth == 0) {
      r.element.name = tag.kind == XmlTag::Kind::close ? "/" + std::string(tag.local_name()) : std::string(tag.local_name());
      r.element.xmlns = tag.attribute("xmlns");
      if (tag.kind != XmlTag::Kind::open) break;
      depth = 1;
      continue;
    }
    if (depth == 1 && tag.kind != XmlTag::Kind::close) r.element.children.emplace_back(tag.local_name());
    if (tag.kind == XmlTag::Kind::open) ++depth;
    if (tag.kind == XmlTag::Kind::close && --depth == 0) break;
    if (depth > 16) {
      r.status = XmlStatus::bad;
      r.error = "elements nested more than 16 deep";
      return r;
    }
  }
  r.element.size = used;
  r.status = XmlStatus::complete;
  return r;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return out;
}

}  // namespace snigate::wire
