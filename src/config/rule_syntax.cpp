// ruleSyntax: v2 routers are read as Traefik v3 reads them, by rewriting each
// rule into v3 syntax once at load; everything after sees only v3 rules.
#include <fmt/core.h>

#include <utility>

#include "config/loader.hpp"
#include "rule/v2_syntax.hpp"

namespace snigate::config::detail {

void apply_rule_syntax(const Static& stat, Dynamic& dyn, std::vector<Error>& errors, std::vector<Error>& warnings) {
  for (auto& [name, r] : dyn.routers) {
    const std::string& syntax = r.rule_syntax.empty() ? stat.default_rule_syntax : r.rule_syntax;
    if (syntax != "v2" || r.rule.empty()) continue;
    const std::string path = "tcp.routers." + name;
    auto v3 = rule::v2_to_v3(r.rule);
    if (auto* e = std::get_if<rule::ParseError>(&v3)) {
      errors.push_back(Error{r.rule_loc, path + ".rule",
                             fmt::format("{} (at character {} of `{}`, read in Traefik v2 syntax)", e->message,
                                         e->offset + 1, r.rule)});
      continue;
    }
    const Loc& at = r.rule_syntax.empty() ? r.rule_loc : r.rule_syntax_loc;
    const std::string why = r.rule_syntax.empty()
                                ? fmt::format("core.defaultRuleSyntax: v2 (at {}:{})", stat.default_rule_syntax_loc.file,
                                              stat.default_rule_syntax_loc.line)
                                : std::string("ruleSyntax: v2");
    r.rule_as_written = std::exchange(r.rule, std::get<std::string>(std::move(v3)));
    warnings.push_back(Error{at, path,
                             fmt::format("router {}: {} is deprecated; in v3 syntax its rule reads {}  "
                                         "(snigate check --to-v3 rewrites the file)",
                                         name, why, r.rule)});
  }
}

}  // namespace snigate::config::detail
