// `latchkey users import` (app/users_import.hpp).
#include "app/users_import.hpp"

#include <map>
#include <optional>
#include <set>

#include "app/csv.hpp"
#include "flows/identifiers.hpp"
#include "passwords/hasher.hpp"

namespace latchkey::app {

namespace {

using core::Code;
using core::Result;
using Outcome = ImportRow::Outcome;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// A list cell: "a@x.dev,b@x.dev" (commas inside the quoted cell), blanks dropped.
std::vector<std::string> split_list(std::string_view cell) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= cell.size()) {
    auto comma = cell.find(',', start);
    if (comma == std::string_view::npos) {
      comma = cell.size();
    }
    auto item = trim(cell.substr(start, comma - start));
    if (!item.empty()) {
      out.push_back(std::move(item));
    }
    start = comma + 1;
  }
  return out;
}

// Clerk user ids: "user_" and base62.
bool valid_user_id(std::string_view id) {
  if (!id.starts_with("user_") || id.size() <= 5 || id.size() > 64) {
    return false;
  }
  for (char c : id.substr(5)) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool valid_username(std::string_view u) {
  if (u.empty() || u.size() > 64) {
    return false;
  }
  for (unsigned char c : u) {
    if (c <= 0x20 || c == 0x7f || c == '@') {
      return false;
    }
  }
  return true;
}

// "$2b$10$<53 chars>": the cost, or nullopt when it is not a bcrypt digest of that shape.
std::optional<int> bcrypt_cost(std::string_view d) {
  if (d.size() != 60 ||
      !(d.starts_with("$2a$") || d.starts_with("$2b$") || d.starts_with("$2y$"))) {
    return std::nullopt;
  }
  if (d[4] < '0' || d[4] > '9' || d[5] < '0' || d[5] > '9' || d[6] != '$') {
    return std::nullopt;
  }
  for (char c : d.substr(7)) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '.' || c == '/';
    if (!ok) {
      return std::nullopt;
    }
  }
  return (d[4] - '0') * 10 + (d[5] - '0');
}

// What one row becomes, before anything is written.
struct Planned {
  store::User user;
  std::vector<store::EmailAddress> emails;
};

class Columns {
 public:
  explicit Columns(const std::vector<std::string>& header) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      index_.emplace(trim(header[i]), i);
    }
  }
  [[nodiscard]] bool has(const std::string& name) const { return index_.contains(name); }
  // The trimmed cell, "" when the column is absent or the row is short.
  [[nodiscard]] std::string get(const std::vector<std::string>& row,
                                const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() || it->second >= row.size() ? std::string() : trim(row[it->second]);
  }

 private:
  std::map<std::string, std::size_t> index_;
};

// Validates a row and builds its rows; a failure is the reason (nothing is written for it).
Result<Planned> plan_row(const Columns& cols, const std::vector<std::string>& row, ImportRow& out,
                         std::int64_t now_ms, core::Random& random) {
  auto bad = [](std::string why) { return core::fail(Code::kFormParamInvalid, std::move(why)); };
  Planned p;
  store::User& u = p.user;
  u.id = cols.get(row, "id");
  out.user_id = u.id;
  if (u.id.empty()) {
    return bad("no user id");
  }
  if (!valid_user_id(u.id)) {
    return bad("the user id is not a Clerk user id (user_ and letters or digits)");
  }
  auto opt = [](std::string s) { return s.empty() ? std::nullopt : std::optional(std::move(s)); };
  u.first_name = opt(cols.get(row, "first_name"));
  u.last_name = opt(cols.get(row, "last_name"));
  if (auto name = cols.get(row, "username"); !name.empty()) {
    if (!valid_username(name)) {
      return bad("the username is invalid");
    }
    u.username = std::move(name);
  }
  u.created_at_ms = now_ms;
  u.updated_at_ms = now_ms;

  // Email addresses, canonical as the flows write them; verified wins over unverified.
  std::vector<std::pair<std::string, bool>> addresses;
  auto add = [&](const std::string& raw, bool verified) -> core::Status {
    auto email = flows::canonical_email(raw, "email_address");
    if (!email) {
      return core::fail(Code::kFormParamInvalid, "invalid email address \"" + raw + "\"");
    }
    for (auto& [e, v] : addresses) {
      if (e == *email) {
        v = v || verified;
        return {};
      }
    }
    addresses.emplace_back(std::move(*email), verified);
    return {};
  };
  for (const auto& e : split_list(cols.get(row, "verified_email_addresses"))) {
    if (auto st = add(e, true); !st) {
      return core::fail(std::move(st.error()));
    }
  }
  for (const auto& e : split_list(cols.get(row, "unverified_email_addresses"))) {
    if (auto st = add(e, false); !st) {
      return core::fail(std::move(st.error()));
    }
  }
  std::optional<std::string> primary;
  if (auto raw = cols.get(row, "primary_email_address"); !raw.empty()) {
    auto email = flows::canonical_email(raw, "email_address");
    if (!email) {
      return bad("invalid primary email address \"" + raw + "\"");
    }
    // A primary listed in neither column is taken as verified (Clerk's primary normally is).
    bool listed = false;
    for (const auto& [e, v] : addresses) {
      listed = listed || e == *email;
    }
    if (!listed) {
      addresses.emplace(addresses.begin(), *email, true);
    }
    primary = std::move(*email);
  }
  for (const auto& [e, verified] : addresses) {
    store::EmailAddress row_email;
    row_email.id = random.id("idn");
    row_email.user_id = u.id;
    row_email.email = e;
    row_email.verified = verified;
    if (verified) {
      row_email.verification_strategy = "import";
    }
    row_email.created_at_ms = now_ms;
    row_email.updated_at_ms = now_ms;
    if ((primary && *primary == e) || (!primary && !u.primary_email_address_id && verified)) {
      u.primary_email_address_id = row_email.id;
    }
    p.emails.push_back(std::move(row_email));
  }
  if (p.emails.empty() && !u.username) {
    return bad(
        "no email address and no username to sign in with (phone numbers are not "
        "imported)");
  }
  if (!cols.get(row, "primary_phone_number").empty() ||
      !cols.get(row, "verified_phone_numbers").empty() ||
      !cols.get(row, "unverified_phone_numbers").empty()) {
    out.notes.emplace_back("phone numbers not imported");
  }
  if (!cols.get(row, "totp_secret").empty()) {
    out.notes.emplace_back("TOTP second factor not imported");
  }

  // The password.
  const std::string digest = cols.get(row, "password_digest");
  const std::string hasher = cols.get(row, "password_hasher");
  if (!digest.empty()) {
    if (hasher == "bcrypt") {
      auto cost = bcrypt_cost(digest);
      if (!cost) {
        return bad("password_digest is not a bcrypt digest ($2a$/$2b$/$2y$, 60 characters)");
      }
      if (*cost < 4 || *cost > passwords::Hasher::kMaxBcryptCost) {
        out.notes.emplace_back("bcrypt cost " + std::to_string(*cost) + " is outside 4.." +
                               std::to_string(passwords::Hasher::kMaxBcryptCost) +
                               ": imported without a password");
      } else {
        u.password_digest = digest;
      }
    } else if (hasher == "argon2id") {
      if (!digest.starts_with("$argon2id$")) {
        return bad("password_digest is not an argon2id PHC string");
      }
      u.password_digest = digest;
    } else {
      out.notes.emplace_back("password hasher \"" + (hasher.empty() ? "(none)" : hasher) +
                             "\" is not supported: imported without a password");
    }
  }
  return p;
}

}  // namespace

Result<ImportReport> import_users(store::Store& store, std::string_view csv, bool dry_run,
                                  const core::Clock& clock, core::Random& random,
                                  sessions::EventSink* events) {
  csv::Reader reader(csv);
  auto header = reader.next();
  if (!header || header->error) {
    return core::fail(
        Code::kFormParamInvalid,
        header ? "the header line is malformed: " + *header->error : "the file is empty");
  }
  const Columns cols(header->fields);
  if (!cols.has("id")) {
    return core::fail(Code::kFormParamInvalid,
                      "no \"id\" column: not a Clerk user export (first line: " +
                          csv::write_record(header->fields).substr(0, 200) + ")");
  }
  ImportReport report;
  std::map<std::string, std::size_t> seen_ids;
  std::map<std::string, std::size_t> seen_emails;
  while (auto rec = reader.next()) {
    ImportRow out;
    out.line = rec->line;
    auto finish = [&](Outcome o, std::string reason) {
      out.outcome = o;
      if (o != Outcome::kCreated) {
        out.notes.clear();  // what a created row would have lost
      }
      out.reason = std::move(reason);
      (o == Outcome::kCreated   ? report.created
       : o == Outcome::kSkipped ? report.skipped
                                : report.failed)++;
      report.rows.push_back(std::move(out));
    };
    if (rec->error) {
      finish(Outcome::kFailed, "malformed CSV: " + *rec->error);
      continue;
    }
    auto planned = plan_row(cols, rec->fields, out, clock.now_ms(), random);
    if (!planned) {
      finish(Outcome::kFailed, planned.error().message);
      continue;
    }
    // Earlier in this file.
    if (auto it = seen_ids.find(planned->user.id); it != seen_ids.end()) {
      finish(Outcome::kSkipped, "same user id as line " + std::to_string(it->second));
      continue;
    }
    std::optional<std::string> dup;
    for (const auto& e : planned->emails) {
      if (auto it = seen_emails.find(e.email); it != seen_emails.end()) {
        dup = "email address " + e.email + " already on line " + std::to_string(it->second);
        break;
      }
    }
    if (dup) {
      finish(Outcome::kSkipped, *dup);
      continue;
    }
    // Against the store, and the write, in one transaction.
    std::optional<std::pair<Outcome, std::string>> verdict;
    auto tx_fn = [&](store::Tx& tx) -> core::Status {
      verdict.reset();
      auto existing = tx.get_user(planned->user.id);
      if (!existing) {
        return core::fail(std::move(existing.error()));
      }
      if (*existing) {
        verdict = {Outcome::kSkipped, "user id already present"};
        return {};
      }
      for (const auto& e : planned->emails) {
        auto owner = tx.find_user_by_email(e.email);
        if (!owner) {
          return core::fail(std::move(owner.error()));
        }
        if (*owner) {
          verdict = {Outcome::kSkipped,
                     "email address " + e.email + " already belongs to " + (*owner)->id};
          return {};
        }
      }
      if (planned->user.username) {
        auto owner = tx.find_user_by_username(*planned->user.username);
        if (!owner) {
          return core::fail(std::move(owner.error()));
        }
        if (*owner) {
          verdict = {Outcome::kFailed,
                     "username " + *planned->user.username + " already belongs to " + (*owner)->id};
          return {};
        }
      }
      if (dry_run) {
        return {};
      }
      if (auto st = tx.insert_user(planned->user); !st) {
        return st;
      }
      for (const auto& e : planned->emails) {
        if (auto st = tx.insert_email_address(e); !st) {
          return st;
        }
      }
      return sessions::emit(events, tx, sessions::Event::kUserCreated, planned->user.id,
                            clock.now_ms());
    };
    if (auto st = store.transaction(tx_fn); !st) {
      if (st.error().code == Code::kConflict) {
        // Raced by another writer between the checks and the insert: nothing of it was written.
        finish(Outcome::kFailed, "conflict with an existing user (" +
                                     st.error().internal.substr(0, st.error().internal.find(':')) +
                                     ")");
        continue;
      }
      return core::fail(std::move(st.error()));
    }
    if (verdict) {
      finish(verdict->first, verdict->second);
      continue;
    }
    seen_ids.emplace(planned->user.id, out.line);
    for (const auto& e : planned->emails) {
      seen_emails.emplace(e.email, out.line);
    }
    finish(Outcome::kCreated, "");
  }
  return report;
}

std::string format_report(const ImportReport& report, bool dry_run) {
  std::string out;
  for (const auto& r : report.rows) {
    if (r.outcome == Outcome::kCreated && r.notes.empty()) {
      continue;
    }
    std::string word = r.outcome == Outcome::kCreated
                           ? (dry_run ? "would create" : "created")
                           : (r.outcome == Outcome::kSkipped ? "skipped" : "failed");
    out += "line " + std::to_string(r.line) + ": " + word + " " +
           (r.user_id.empty() ? std::string("(no id)") : r.user_id);
    if (!r.reason.empty()) {
      out += ": " + r.reason;
    }
    for (const auto& n : r.notes) {
      out += "; " + n;
    }
    out += "\n";
  }
  out += std::string(dry_run ? "dry run: " : "") + std::to_string(report.created) +
         (dry_run ? " would be created, " : " created, ") + std::to_string(report.skipped) +
         " skipped, " + std::to_string(report.failed) + " failed\n";
  return out;
}

}  // namespace latchkey::app
