#pragma once
// The RE2 options HostSNIRegexp patterns are compiled with, shared by the
// pattern of one rule (sni_regexp.cpp) and the set of every pattern of an
// entry point (sni_regexp_set.cpp), so both read a pattern the same way.
#include <re2/re2.h>

namespace snigate::rule {

re2::RE2::Options sni_regexp_options();

}  // namespace snigate::rule
