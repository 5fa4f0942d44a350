// The opening of an XMPP stream (wire/xmpp): tags, the stream header, the
// top-level elements of STARTTLS.
#include "wire/xmpp.hpp"

#include <gtest/gtest.h>

namespace snigate::wire {
namespace {

TEST(WireXmpp, StreamHeaderAsOpensslAndClientsSendIt) {
  const std::string_view s_client =
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='a.example' "
      "version='1.0'>";
  const StreamHeaderRead h = parse_stream_header(s_client);
  ASSERT_EQ(h.status, XmlStatus::complete) << h.error;
  EXPECT_EQ(h.header.to, "a.example");
  EXPECT_EQ(h.header.xmlns, "jabber:client");
  EXPECT_EQ(h.header.version, "1.0");
  EXPECT_EQ(h.header.size, s_client.size());

  const std::string with_decl = "<?xml version=\"1.0\"?>\n<stream:stream to=\"b.example\" xmlns=\"jabber:server\">rest";
  const StreamHeaderRead d = parse_stream_header(with_decl);
  ASSERT_EQ(d.status, XmlStatus::complete) << d.error;
  EXPECT_EQ(d.header.to, "b.example");
  EXPECT_EQ(with_decl.substr(d.header.size), "rest");
}

TEST(WireXmpp, EveryPrefixNeedsMore) {
  const std::string h = "<?xml version='1.0'?><stream:stream to='a&amp;b' version='1.0'>";
  for (std::size_t n = 0; n < h.size(); ++n)
    EXPECT_EQ(parse_stream_header(std::string_view(h).substr(0, n)).status, XmlStatus::need_more) << n;
  EXPECT_EQ(parse_stream_header(h).header.to, "a&b");
}

TEST(WireXmpp, WhatAStreamMustNotHold) {
  EXPECT_NE(parse_stream_header("<!-- hi --><stream:stream>").error.find("a comment, CDATA or DTD"), std::string::npos);
  EXPECT_NE(parse_stream_header("<?php x?><stream:stream>").error.find("a processing instruction"), std::string::npos);
  EXPECT_NE(parse_stream_header("<message/>").error.find("does not start with <stream:stream>"), std::string::npos);
  EXPECT_NE(parse_stream_header("<stream:stream to=a>").error.find("is not quoted"), std::string::npos);
  EXPECT_NE(parse_stream_header("<stream:stream to='&bogus;'>").error.find("unknown entity"), std::string::npos);
  EXPECT_EQ(parse_stream_header(std::string(5000, ' ')).status, XmlStatus::bad);
}

TEST(WireXmpp, FeaturesStarttlsProceedAndTheEnd) {
  const std::string_view features =
      "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
      "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
      "</stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>";
  const XmppElementRead f = next_xmpp_element(features);
  ASSERT_EQ(f.status, XmlStatus::complete) << f.error;
  EXPECT_EQ(f.element.name, "features");
  EXPECT_EQ(f.element.children, (std::vector<std::string>{"starttls", "mechanisms"}));
  const XmppElementRead p = next_xmpp_element(features.substr(f.element.size));
  ASSERT_EQ(p.status, XmlStatus::complete);
  EXPECT_EQ(p.element.name, "proceed");
  EXPECT_EQ(p.element.xmlns, "urn:ietf:params:xml:ns:xmpp-tls");
  const XmppElementRead end = next_xmpp_element(features.substr(f.element.size + p.element.size));
  EXPECT_EQ(end.element.name, "/stream");
  EXPECT_EQ(next_xmpp_element("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></starttls>").element.name,
            "starttls");
}

TEST(WireXmpp, EscapeWhatSnigateWrites) {
  EXPECT_EQ(xml_escape("a<b>&'\"\n"), "a&lt;b&gt;&amp;&apos;&quot;?");
}

}  // namespace
}  // namespace snigate::wire
