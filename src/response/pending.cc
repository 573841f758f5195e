#include "response/pending.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace vigil::response {

using Json = nlohmann::json;

namespace {

// Returns member `key` of the object `item` as a T, or `fallback` when the member is absent
// and a fallback is given. Throws std::invalid_argument for a value that is not an integer
// in T's range: nlohmann's own conversion casts a float such as 1e300 with undefined
// behaviour.
template <typename T>
T IntegerMember(const Json& item, const std::string& key, std::optional<T> fallback = {}) {
  if (!item.is_object()) throw std::invalid_argument("an entry is not a JSON object");
  auto it = item.find(key);
  if (it == item.end()) {
    if (fallback) return *fallback;
    throw std::invalid_argument("\"" + key + "\" is missing");
  }
  bool in_range = false;
  if (it->is_number_unsigned()) {
    in_range = it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if (it->is_number_integer()) {
    int64_t value = it->get<int64_t>();
    in_range = value >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
               (value < 0 || static_cast<uint64_t>(value) <=
                                 static_cast<uint64_t>(std::numeric_limits<T>::max()));
  }
  if (!in_range) throw std::invalid_argument("\"" + key + "\" is not an integer in range");
  return it->get<T>();
}

}  // namespace

int TimeoutForOffence(const TableEntry& entry, int offence) {
  const auto& minutes = entry.options.repeated_offenders_minutes;
  if (offence <= 1 || minutes.empty()) return entry.timeout_seconds;
  const size_t index = std::min<size_t>(static_cast<size_t>(offence - 2), minutes.size() - 1);
  return minutes[index] * 60;
}

AddDecision PendingStore::OnAdd(const TableEntry& entry, const ExecRequest& request,
                                int64_t now_ms) {
  const Key key{entry.name, request.Key()};
  AddDecision decision;
  decision.offence = ++offences_[key];
  decision.timeout_seconds = TimeoutForOffence(entry, decision.offence);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    decision.outcome = entry.options.repeated_offenders_minutes.empty() ? AddOutcome::kExtend
                                                                        : AddOutcome::kEscalate;
    PendingEntry& pending = it->second;
    pending.due_ms = std::max(pending.due_ms, now_ms + decision.timeout_seconds * int64_t{1000});
    pending.timeout_seconds = decision.timeout_seconds;
    return decision;
  }
  decision.outcome = AddOutcome::kRun;
  if (decision.timeout_seconds > 0) {
    PendingEntry pending;
    pending.request = request;
    pending.request.action = Action::kAdd;
    pending.executable = entry.executable;
    pending.added_ms = now_ms;
    pending.due_ms = now_ms + decision.timeout_seconds * int64_t{1000};
    pending.timeout_seconds = decision.timeout_seconds;
    pending.simulated = entry.options.simulate;
    entries_.emplace(key, std::move(pending));
  }
  return decision;
}

std::vector<PendingEntry> PendingStore::TakeDue(int64_t now_ms) {
  std::vector<PendingEntry> due;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.due_ms <= now_ms) {
      due.push_back(std::move(it->second));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(due.begin(), due.end(),
            [](const PendingEntry& a, const PendingEntry& b) { return a.due_ms < b.due_ms; });
  return due;
}

std::optional<PendingEntry> PendingStore::Take(const std::string& name, const std::string& key) {
  auto it = entries_.find(Key{name, key});
  if (it == entries_.end()) return std::nullopt;
  PendingEntry entry = std::move(it->second);
  entries_.erase(it);
  return entry;
}

std::vector<PendingEntry> PendingStore::TakeByAddress(const std::string& srcip) {
  std::vector<PendingEntry> taken;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.request.srcip == srcip) {
      taken.push_back(std::move(it->second));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

std::optional<int64_t> PendingStore::NextDue() const {
  std::optional<int64_t> next;
  for (const auto& [key, entry] : entries_) {
    if (!next || entry.due_ms < *next) next = entry.due_ms;
  }
  return next;
}

const PendingEntry* PendingStore::Find(const std::string& name, const std::string& key) const {
  auto it = entries_.find(Key{name, key});
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<PendingEntry> PendingStore::Entries() const {
  std::vector<PendingEntry> all;
  for (const auto& [key, entry] : entries_) all.push_back(entry);
  std::sort(all.begin(), all.end(),
            [](const PendingEntry& a, const PendingEntry& b) { return a.due_ms < b.due_ms; });
  return all;
}

std::string PendingStore::Serialize() const {
  Json entries = Json::array();
  for (const auto& [key, entry] : entries_) {
    const ExecRequest& r = entry.request;
    entries.push_back({{"name", r.name},
                       {"executable", entry.executable},
                       {"user", r.user},
                       {"srcip", r.srcip},
                       {"alert_id", r.alert_id},
                       {"rule_id", r.rule_id},
                       {"location", r.location},
                       {"filename", r.filename},
                       {"extra_words", r.extra_words},
                       {"rule_level", r.rule_level},
                       {"rule_groups", r.rule_groups},
                       {"agent_id", r.agent_id},
                       {"origin_id", r.origin_id},
                       {"added_ms", entry.added_ms},
                       {"due_ms", entry.due_ms},
                       {"timeout_seconds", entry.timeout_seconds},
                       {"simulated", entry.simulated}});
  }
  Json offences = Json::array();
  for (const auto& [key, count] : offences_) {
    offences.push_back({{"name", key.first}, {"key", key.second}, {"count", count}});
  }
  Json document = {{"version", 1}, {"pending", entries}, {"offences", offences}};
  return document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Expected<PendingStore> PendingStore::Parse(std::string_view text,
                                           std::vector<std::string>* errors) {
  Json document = Json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return Status::ParseError("pending responses file is not a JSON object");
  }
  PendingStore store;
  try {
    for (const Json& item : document.value("pending", Json::array())) {
      PendingEntry entry;
      ExecRequest& r = entry.request;
      r.name = item.at("name").get<std::string>();
      entry.executable = item.value("executable", "");
      r.user = item.value("user", "-");
      r.srcip = item.value("srcip", "-");
      r.alert_id = item.value("alert_id", "-");
      r.rule_id = item.value("rule_id", "-");
      r.location = item.value("location", "-");
      r.filename = item.value("filename", "-");
      r.extra_words = std::clamp(IntegerMember<int>(item, "extra_words", 4), 0, 4);
      r.rule_level = IntegerMember<int>(item, "rule_level", 0);
      r.rule_groups = item.value("rule_groups", std::vector<std::string>{});
      r.agent_id = item.value("agent_id", "000");
      r.origin_id = IntegerMember<uint64_t>(item, "origin_id", 0);
      entry.added_ms = IntegerMember<int64_t>(item, "added_ms", 0);
      entry.due_ms = IntegerMember<int64_t>(item, "due_ms");
      entry.timeout_seconds = IntegerMember<int>(item, "timeout_seconds", 0);
      entry.simulated = item.value("simulated", false);
      // The file may have been edited by hand: its values pass the same checks as a message.
      Status valid = ValidateRequest(&r);
      if (!valid.ok()) {
        errors->push_back("pending delete of '" + r.name + "' dropped: " + valid.message());
        continue;
      }
      store.entries_[Key{r.name, r.Key()}] = std::move(entry);
    }
    for (const Json& item : document.value("offences", Json::array())) {
      store.offences_[Key{item.at("name").get<std::string>(), item.at("key").get<std::string>()}] =
          IntegerMember<int>(item, "count");
    }
  } catch (const Json::exception& e) {
    return Status::ParseError(std::string("pending responses file: ") + e.what());
  } catch (const std::invalid_argument& e) {
    return Status::ParseError(std::string("pending responses file: ") + e.what());
  }
  return store;
}

}  // namespace vigil::response
