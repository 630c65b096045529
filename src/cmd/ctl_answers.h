// How mailwardenctl prints the answers that need nothing of the command line's options (the
// commands of mailwardenctl.cc name them in their table).
#pragma once

#include <nlohmann/json.hpp>

namespace mailwarden {

// GET .../email/messages/{id}: the message, its delivery per recipient and its history (its
// own events and what was done to the whole account meanwhile, by time).
void PrintMessageHistory(const nlohmann::json& m);
// Quarantined mail with its verdict: "15.2" and "GTUBE,PHISHING" beside each message.
void PrintQuarantined(const nlohmann::json& body);
// A DKIM key's record to publish, as a zone file line would hold it.
void PrintDkimKey(const nlohmann::json& key);
void PrintDkimKeys(const nlohmann::json& body);
// An account's domains with their keys and the DNS records' state.
void PrintDomains(const nlohmann::json& body);
void PrintPlans(const nlohmann::json& body);
void PrintPlan(const nlohmann::json& plan);

}  // namespace mailwarden
