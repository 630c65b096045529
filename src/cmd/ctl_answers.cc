// How mailwardenctl prints the answers that need nothing of the command line's options: a
// message with its history, quarantined mail, DKIM keys and domains, plans.
#include "cmd/ctl_answers.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cmd/ctl_table.h"

namespace mailwarden {

// One message with its delivery per recipient and its history.
void PrintMessageHistory(const json& m) {
  static const std::vector<std::pair<const char*, const char*>> kFields = {
      {"id", "message"}, {"status", "status"},     {"date", "received"},   {"finished", "finished"},
      {"from", "from"},  {"subject", "subject"},   {"script", "script"},   {"uid", "uid"},
      {"size", "size"},  {"attempts", "attempts"}, {"held_reason", "held"}};
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, label] : kFields) {
    if (!Field(m, key).is_null()) rows.push_back({label, Cell(Field(m, key))});
  }
  PrintTable({"FIELD", "VALUE"}, rows);
  std::cout << "\n";
  PrintTable({"RECIPIENT", "STATUS", "CATEGORY", "REPLY"}, [&] {
    std::vector<std::vector<std::string>> delivery;
    if (const json& list = Field(m, "delivery"); list.is_array()) {
      for (const json& r : list) {
        delivery.push_back({Cell(Field(r, "address")), Cell(Field(r, "status")),
                            Cell(Field(r, "category")), Cell(Field(r, "reply"))});
      }
    }
    return delivery;
  }());
  std::cout << "\n";
  // The message's own events and what was done to the whole account meanwhile, by time.
  std::vector<std::vector<std::string>> history;
  if (const json& list = Field(m, "events"); list.is_array()) {
    for (const json& e : list) {
      history.push_back({Cell(Field(e, "at")), Cell(Field(e, "kind")), Cell(Field(e, "address")),
                         Cell(Field(e, "detail"))});
    }
  }
  if (const json& list = Field(m, "account_events"); list.is_array()) {
    for (const json& e : list) {
      history.push_back({Cell(Field(e, "at")), "account " + Text(Field(e, "action")), "-",
                         Text(Field(e, "actor")) + ": " + Text(Field(e, "reason"))});
    }
  }
  std::ranges::stable_sort(history, {}, [](const auto& row) { return row[0]; });
  PrintTable({"AT", "EVENT", "RECIPIENT", "DETAIL"}, history);
}

// Quarantined mail with its verdict: "15.2" and "GTUBE,PHISHING" beside each message.
void PrintQuarantined(const json& body) {
  json flat = body;
  if (flat.contains("items") && flat["items"].is_array()) {
    for (json& item : flat["items"]) {
      const json& scan = Field(item, "scan");
      const json& score = Field(scan, "score");
      char text[32] = "";
      if (score.is_number()) std::snprintf(text, sizeof text, "%.1f", score.get<double>());
      item["score"] = std::string(text);
      std::string symbols;
      if (const json& list = Field(scan, "symbols"); list.is_array()) {
        for (const json& s : list) {
          if (s.is_string()) symbols += (symbols.empty() ? "" : ",") + s.get<std::string>();
        }
      }
      item["symbols"] = symbols;
    }
  }
  PrintItems(flat, {"ID", "DATE", "FROM", "TO", "SUBJECT", "SCORE", "SYMBOLS"},
             {"id", "date", "from", "to", "subject", "score", "symbols"},
             "No quarantined messages.");
}

// The record to publish, as a zone file line would hold it.
void PrintDkimKey(const json& key) {
  std::cout << Text(Field(key, "name")) << " TXT \"" << Text(Field(key, "record")) << "\"\n";
  for (const auto& name : Field(key, "keep_published")) {
    std::cout << "keep " << Text(name) << " published until mail signed with it is delivered "
              << "(a week)\n";
  }
}

void PrintDkimKeys(const json& body) {
  PrintItems(body, {"SELECTOR", "ALGORITHM", "CREATED", "RETIRED", "RECORD"},
             {"selector", "algorithm", "created", "retired", "record"}, "No keys.");
}

void PrintDomains(const json& body) {
  std::cout << "From check: " << Text(Field(body, "sender_check")) << "\n";
  const json& items = Field(body, "items");
  if (!items.is_array() || items.empty()) std::cout << "No domains.\n";
  for (const auto& item : items) {
    std::cout << Text(Field(item, "domain")) << "\n";
    for (const auto& key : Field(item, "dkim")) {
      std::cout << "  dkim " << Text(Field(key, "selector")) << " ("
                << Text(Field(key, "algorithm"))
                << (Field(key, "signing").is_boolean() && key["signing"].get<bool>() ? ", signing"
                                                                                     : ", retired")
                << ")\n";
    }
    const json& dns = Field(item, "dns");
    if (!dns.is_object()) continue;
    auto line = [](const json& c) {
      std::cout << "  " << Text(Field(c, "name")) << ": " << Text(Field(c, "state"));
      if (Field(c, "publish").is_string()) std::cout << "; publish: " << Text(c["publish"]);
      std::cout << "\n";
    };
    for (const auto& c : Field(dns, "dkim")) line(c);
    line(Field(dns, "spf"));
    line(Field(dns, "dmarc"));
  }
}

// A plan's keys on one line: "max_per_day=200 over_limit=refuse" ("" for none).
namespace {

std::string PlanKeys(const json& plan) {
  std::string out;
  for (const auto& [key, value] : Field(plan, "limits").items()) {
    out += (out.empty() ? "" : " ") + key + "=" + Text(value);
  }
  return out;
}

}  // namespace

void PrintPlans(const json& body) {
  const json& items = Field(body, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << "No plans.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) rows.push_back({Text(Field(item, "name")), PlanKeys(item)});
  PrintTable({"NAME", "LIMITS"}, rows);
}

void PrintPlan(const json& plan) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : Field(plan, "limits").items()) rows.push_back({key, Text(value)});
  std::cout << "Plan \"" << Text(Field(plan, "name")) << "\"";
  if (rows.empty()) {
    std::cout << ": no keys of its own (the server's [policy] holds).\n";
    return;
  }
  std::cout << ":\n";
  PrintTable({"KEY", "VALUE"}, rows);
}

}  // namespace mailwarden
