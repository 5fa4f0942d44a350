// session/pg_auth: the PostgreSQL login relay's state machine, fed the
// message sequences a server and a client send between the StartupMessage
// and ReadyForQuery.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "session/pg_auth.hpp"

namespace snigate::session::pg {
namespace {

using B = wp::Bytes;

void put32(B& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_text(B& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

void put_cstr(B& b, std::string_view s) {
  put_text(b, s);
  b.push_back(0);
}

B cat(std::initializer_list<B> parts) {
  B out;
  for (const B& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Authentication request `code` followed by `data`.
B auth(std::uint32_t code, std::string_view data = {}) {
  B body;
  put32(body, code);
  put_text(body, data);
  return wp::encode_message('R', body);
}

B parameter_status(std::string_view name, std::string_view value) {
  B body;
  put_cstr(body, name);
  put_cstr(body, value);
  return wp::encode_message('S', body);
}

B backend_key(std::uint32_t pid, std::string_view key) {
  B body;
  put32(body, pid);
  put_text(body, key);
  return wp::encode_message('K', body);
}

B notice(std::string_view text) {
  B body{'S'};
  put_cstr(body, "NOTICE");
  body.push_back('M');
  put_cstr(body, text);
  body.push_back(0);
  return wp::encode_message('N', body);
}

B negotiate_protocol_version() {
  B body;
  put32(body, 0);  // newest minor version the server supports
  put32(body, 1);
  put_cstr(body, "_pq_.unknown");
  return wp::encode_message('v', body);
}

const B kReady = wp::encode_message('Z', B{'I'});
const B kAuthOk = auth(wp::kAuthOk);
const B kPassword = [] {
  B body;
  put_cstr(body, "md5a3556571e93b0d20722ba62be61e8c2d");
  return wp::encode_message('p', body);
}();

// SASLInitialResponse choosing mechanism with a client-first-message.
B sasl_initial(std::string_view mechanism, std::string_view client_first) {
  B body;
  put_cstr(body, mechanism);
  put32(body, static_cast<std::uint32_t>(client_first.size()));
  put_text(body, client_first);
  return wp::encode_message('p', body);
}

const std::vector<std::string> kScramOnly{"SCRAM-SHA-256"};
const std::vector<std::string> kScramBoth{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};

TEST(SessionPgAuth, Md5BatchesTheServerUntilTheClientMustAnswer) {
  LoginRelay relay;
  const B md5 = auth(5, "salt");
  ASSERT_EQ(relay.on_server(md5), LoginStep::ask_client);
  EXPECT_EQ(relay.take_pending(), md5);
  EXPECT_TRUE(relay.pending.empty());
  EXPECT_EQ(relay.on_client(kPassword), LoginStep::forward);

  const B status = parameter_status("server_version", "16.4");
  EXPECT_EQ(relay.on_server(kAuthOk), LoginStep::read_server);
  EXPECT_EQ(relay.on_server(status), LoginStep::read_server);
  EXPECT_EQ(relay.on_server(kReady), LoginStep::ready);
  EXPECT_EQ(relay.take_pending(), cat({kAuthOk, status, kReady}));
  EXPECT_FALSE(relay.sasl_offered);
}

TEST(SessionPgAuth, CleartextPasswordAsksTheClient) {
  LoginRelay relay;
  const B cleartext = auth(3);
  ASSERT_EQ(relay.on_server(cleartext), LoginStep::ask_client);
  EXPECT_EQ(relay.take_pending(), cleartext);
  EXPECT_EQ(relay.on_client(kPassword), LoginStep::forward);
}

TEST(SessionPgAuth, ScramWithoutPlusGoesThroughUnchanged) {
  LoginRelay relay;  // binding cannot hold, but nothing offers it
  const B offer = wp::encode_authentication_sasl(kScramOnly);
  ASSERT_EQ(relay.on_server(offer), LoginStep::ask_client);
  EXPECT_EQ(relay.take_pending(), offer);
  EXPECT_TRUE(relay.sasl_offered);
  EXPECT_FALSE(relay.plus_withheld);
  EXPECT_EQ(relay.on_client(sasl_initial("SCRAM-SHA-256", "n,,n=,r=abc")), LoginStep::forward);

  const B more = auth(wp::kAuthSaslContinue, "r=abcdef,s=c2FsdA==,i=4096");
  EXPECT_EQ(relay.on_server(more), LoginStep::ask_client);
  EXPECT_EQ(relay.take_pending(), more);
  EXPECT_EQ(relay.on_client(wp::encode_message('p', B{'c', '=', 'b', 'i', 'w', 's'})), LoginStep::forward);
  EXPECT_EQ(relay.on_server(auth(wp::kAuthSaslFinal, "v=sig")), LoginStep::read_server);
  EXPECT_EQ(relay.on_server(kAuthOk), LoginStep::read_server);
  EXPECT_EQ(relay.on_server(kReady), LoginStep::ready);
}

TEST(SessionPgAuth, PlusStaysOfferedWhenBindingHolds) {
  LoginRelay relay;
  relay.binding_can_hold = true;
  const B offer = wp::encode_authentication_sasl(kScramBoth);
  ASSERT_EQ(relay.on_server(offer), LoginStep::ask_client);
  EXPECT_EQ(relay.take_pending(), offer);
  EXPECT_FALSE(relay.plus_withheld);
  EXPECT_EQ(relay.on_client(sasl_initial("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc")), LoginStep::forward);
}

TEST(SessionPgAuth, PlusIsWithheldWhenBindingCannotHold) {
  LoginRelay relay;
  const B before = notice("welcome");
  ASSERT_EQ(relay.on_server(before), LoginStep::read_server);
  ASSERT_EQ(relay.on_server(wp::encode_authentication_sasl(kScramBoth)), LoginStep::ask_client);
  EXPECT_TRUE(relay.plus_withheld);
  // Only the offer is rewritten; what came before it is untouched.
  EXPECT_EQ(relay.take_pending(), cat({before, wp::encode_authentication_sasl(kScramOnly)}));
  EXPECT_EQ(relay.on_client(sasl_initial("SCRAM-SHA-256", "n,,n=,r=abc")), LoginStep::forward);
}

TEST(SessionPgAuth, OnlyPlusOfferedIsRefusedWhenBindingCannotHold) {
  LoginRelay relay;
  const B offer = wp::encode_authentication_sasl({"SCRAM-SHA-256-PLUS"});
  ASSERT_EQ(relay.on_server(offer), LoginStep::refuse);
  EXPECT_EQ(relay.refusal, LoginRefusal::only_plus_offered);
  EXPECT_EQ(relay.pending, offer);  // left as it was
}

TEST(SessionPgAuth, ClientThatChoosesPlusAfterItWasWithheldIsRefused) {
  LoginRelay relay;
  ASSERT_EQ(relay.on_server(wp::encode_authentication_sasl(kScramBoth)), LoginStep::ask_client);
  EXPECT_EQ(relay.on_client(sasl_initial("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc")), LoginStep::refuse);
  EXPECT_EQ(relay.refusal, LoginRefusal::client_chose_plus);
}

TEST(SessionPgAuth, ClientThatSaysItCouldBindIsRefusedOnlyWhenPlusWasWithheld) {
  LoginRelay withheld;
  ASSERT_EQ(withheld.on_server(wp::encode_authentication_sasl(kScramBoth)), LoginStep::ask_client);
  EXPECT_EQ(withheld.on_client(sasl_initial("SCRAM-SHA-256", "y,,n=,r=abc")), LoginStep::refuse);
  EXPECT_EQ(withheld.refusal, LoginRefusal::client_could_bind);

  LoginRelay binds;
  binds.binding_can_hold = true;
  ASSERT_EQ(binds.on_server(wp::encode_authentication_sasl(kScramBoth)), LoginStep::ask_client);
  EXPECT_EQ(binds.on_client(sasl_initial("SCRAM-SHA-256", "y,,n=,r=abc")), LoginStep::forward);
}

TEST(SessionPgAuth, OnlyTheAnswerToTheOfferIsChecked) {
  LoginRelay relay;
  ASSERT_EQ(relay.on_server(wp::encode_authentication_sasl(kScramBoth)), LoginStep::ask_client);
  ASSERT_EQ(relay.on_client(sasl_initial("SCRAM-SHA-256", "n,,n=,r=abc")), LoginStep::forward);
  EXPECT_FALSE(relay.awaiting_sasl_choice);
  ASSERT_EQ(relay.on_server(auth(wp::kAuthSaslContinue, "r=abcdef,s=c2FsdA==,i=4096")), LoginStep::ask_client);
  // A later message that happens to parse as a PLUS choice is the client's business.
  EXPECT_EQ(relay.on_client(sasl_initial("SCRAM-SHA-256-PLUS", "p=x")), LoginStep::forward);
}

TEST(SessionPgAuth, ServerErrorResponseEndsTheLoginWithItsFields) {
  LoginRelay relay;
  ASSERT_EQ(relay.on_server(auth(5, "salt")), LoginStep::ask_client);
  relay.take_pending();
  ASSERT_EQ(relay.on_client(kPassword), LoginStep::forward);
  const B err = wp::encode_error("FATAL", "28P01", "password authentication failed for user \"bob\"");
  ASSERT_EQ(relay.on_server(err), LoginStep::server_refused);
  EXPECT_EQ(relay.error.get('M'), "password authentication failed for user \"bob\"");
  EXPECT_EQ(relay.error.get('C'), "28P01");
  EXPECT_EQ(relay.take_pending(), err);
}

TEST(SessionPgAuth, BackendKeyDataIsCapturedAndPassedOn) {
  LoginRelay relay;
  const B key = backend_key(4242, "\x01\x02\x03\x04");
  ASSERT_EQ(relay.on_server(key), LoginStep::register_key);
  EXPECT_EQ(relay.key.pid, 4242u);
  EXPECT_EQ(relay.key.key, (B{1, 2, 3, 4}));
  // Protocol 3.2's longer key too; a key too short to be one is passed on unregistered.
  const B long_key = backend_key(7, std::string(32, 'k'));
  ASSERT_EQ(relay.on_server(long_key), LoginStep::register_key);
  EXPECT_EQ(relay.key.key.size(), 32u);
  const B short_key = backend_key(8, "\x01\x02");
  EXPECT_EQ(relay.on_server(short_key), LoginStep::read_server);
  EXPECT_EQ(relay.on_server(kReady), LoginStep::ready);
  EXPECT_EQ(relay.take_pending(), cat({key, long_key, short_key, kReady}));
}

TEST(SessionPgAuth, ServerThatNeverAsksTheClientIsStoppedAtTheBound) {
  LoginRelay relay;
  // Notices of 40 KiB: three fit in 128 KiB, the fourth does not.
  const B big = notice(std::string(40 * 1024, 'x'));
  std::size_t held = 0;
  LoginStep step = LoginStep::read_server;
  for (int i = 0; i < 10 && step == LoginStep::read_server; ++i) {
    step = relay.on_server(big);
    if (step == LoginStep::read_server) held += big.size();
  }
  ASSERT_EQ(step, LoginStep::refuse);
  EXPECT_EQ(relay.refusal, LoginRefusal::pending_too_large);
  EXPECT_EQ(held, 3 * big.size());
  EXPECT_EQ(relay.pending.size(), held);
}

TEST(SessionPgAuth, PendingMayReachTheBoundExactly) {
  LoginRelay relay;
  const B first = notice(std::string(60 * 1024, 'x'));
  ASSERT_EQ(relay.on_server(first), LoginStep::read_server);
  const B status = parameter_status("a", "");
  const std::size_t fill = kMaxLoginPending - first.size() - status.size();
  const B filler = notice(std::string(fill - notice("").size(), 'y'));
  ASSERT_EQ(filler.size(), fill);
  ASSERT_EQ(relay.on_server(filler), LoginStep::read_server);
  ASSERT_EQ(relay.on_server(status), LoginStep::read_server);
  EXPECT_EQ(relay.pending.size(), kMaxLoginPending);
  EXPECT_EQ(relay.on_server(kReady), LoginStep::refuse);
  EXPECT_EQ(relay.refusal, LoginRefusal::pending_too_large);
}

TEST(SessionPgAuth, MalformedAuthenticationIsRefused) {
  LoginRelay relay;
  EXPECT_EQ(relay.on_server(wp::encode_message('R', B{0, 0})), LoginStep::refuse);
  EXPECT_EQ(relay.refusal, LoginRefusal::malformed_authentication);

  // A SASL offer whose mechanism list never ends.
  LoginRelay unterminated;
  B body;
  put32(body, wp::kAuthSasl);
  put_text(body, "SCRAM-SHA-256");
  EXPECT_EQ(unterminated.on_server(wp::encode_message('R', body)), LoginStep::refuse);
  EXPECT_EQ(unterminated.refusal, LoginRefusal::malformed_authentication);
  EXPECT_FALSE(unterminated.sasl_offered);
}

TEST(SessionPgAuth, OtherServerMessagesPassThroughUntouched) {
  LoginRelay relay;
  const B npv = negotiate_protocol_version();
  const B status = parameter_status("client_encoding", "UTF8");
  const B note = notice("the password expires soon");
  for (const B& m : {npv, status, note}) EXPECT_EQ(relay.on_server(m), LoginStep::read_server);
  const B md5 = auth(5, "salt");
  ASSERT_EQ(relay.on_server(md5), LoginStep::ask_client);
  EXPECT_EQ(relay.take_pending(), cat({npv, status, note, md5}));
}

}  // namespace
}  // namespace snigate::session::pg
