// `ratelimit sla`: SLA targets per tier against measured figures, and the
// service credits owed (src/planning/sla.cpp).
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "planning_fetch.hpp"
#include "ratelimit/planning/capacity.hpp"
#include "ratelimit/planning/sla.hpp"
#include "ratelimit/planning/text_table.hpp"

namespace ratelimit::cli {
namespace json = boost::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw planning::InputError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string with_unit(double v, const std::string& unit) {
  return planning::format_number(v, unit == "ms" ? 1 : 3) + (unit == "%" ? "%" : " ms");
}

void print_table(const planning::SlaReport& r) {
  using planning::format_number;
  planning::TextTable table({"tier", "item", "target", "measured", "status", "missed by"},
                            {false, false, true, true, false, true});
  for (const auto& t : r.tiers) {
    for (const auto& i : t.items) {
      const std::string target = (i.unit == "ms" ? "<= " : ">= ") + with_unit(i.target, i.unit);
      std::string missed = "-";
      if (!i.met) {
        missed = i.unit == "%" ? format_number(i.shortfall, 3) + " points"
                               : format_number(i.shortfall, 1) + " ms";
      }
      table.add_row({t.tier, i.item, target, with_unit(i.measured, i.unit),
                     i.met ? "met" : "BREACHED", missed});
    }
  }
  table.print(std::cout);
  std::cout << "\nService credits (on availability):\n\n";
  planning::TextTable credits({"tier", "monthly fee", "credit", "owed"}, {false, true, true, true});
  for (const auto& t : r.tiers) {
    credits.add_row({t.tier, format_number(t.monthly_fee, 2),
                     format_number(t.credit_percent, 1) + "%", format_number(t.credit, 2)});
  }
  credits.add_row({"total", "", "", format_number(r.total_credit, 2)});
  credits.print(std::cout);
  std::cout << "\n" << (r.met ? "All SLAs met." : "SLA breached.") << '\n';
}

json::object to_json(const planning::SlaReport& r) {
  json::array tiers;
  for (const auto& t : r.tiers) {
    json::array items;
    for (const auto& i : t.items) {
      items.push_back(json::object{{"item", i.item},
                                   {"unit", i.unit},
                                   {"target", i.target},
                                   {"measured", i.measured},
                                   {"met", i.met},
                                   {"shortfall", i.shortfall}});
    }
    tiers.push_back(json::object{{"tier", t.tier},
                                 {"met", t.met},
                                 {"items", std::move(items)},
                                 {"monthly_fee", t.monthly_fee},
                                 {"credit_percent", t.credit_percent},
                                 {"credit", t.credit}});
  }
  return json::object{
      {"met", r.met}, {"total_credit", r.total_credit}, {"tiers", std::move(tiers)}};
}

}  // namespace

int run_sla(const SlaOptions& o) {
  const auto sla = planning::load_sla_file(o.file);
  // Precedence: flags, then the --measured file, then the service.
  planning::MeasuredSet measured;
  planning::Measured& flags = o.tier.empty() ? measured.all : measured.by_tier[o.tier];
  flags = planning::Measured{o.availability, o.response_ms, o.accuracy};
  if (!o.measured_file.empty()) {
    measured.complete_from(
        planning::parse_measured_json(read_file(o.measured_file), o.measured_file));
  }
  if (!o.from_service.empty()) {
    measured.complete_from(planning::measured_from_stats_json(
        fetch_page(o.from_service, "/v1/stats?range=" + o.range)));
  }
  const auto report = planning::evaluate_sla(sla, measured);
  if (o.json) {
    std::cout << json::serialize(to_json(report)) << '\n';
  } else {
    print_table(report);
  }
  // Like `config check`: a breach is a result, not an error.
  return report.met ? 0 : 1;
}

}  // namespace ratelimit::cli
