#include "session/mail_greeter.hpp"

namespace snigate::session::mail {

std::string printable_line(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (char& ch : out)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
  return out;
}

}  // namespace snigate::session::mail
