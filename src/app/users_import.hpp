#pragma once
// `latchkey users import FILE`: Clerk's user export CSV (Dashboard → Settings → User exports)
// into the store, so a team can leave Clerk without resetting passwords. Columns are found by
// their header name (unknown ones are ignored): id, first_name, last_name, username,
// primary_email_address, verified_email_addresses, unverified_email_addresses (lists separated
// by commas inside the cell), primary_phone_number, verified_phone_numbers,
// unverified_phone_numbers, totp_secret, password_digest, password_hasher.
//
// Each row is one store transaction, all or nothing. A row whose user id or one of whose email
// addresses is already present (in the store or earlier in the file) is skipped, so running the
// import twice creates nothing the second time. Clerk's user ids are kept. password_hasher
// bcrypt ($2a$/$2b$/$2y$) and argon2id digests are stored as they are (the sign-in flow verifies
// bcrypt and rehashes it to argon2id at the next successful sign-in); any other hasher imports
// the user without a password, and the report says so. No report line ever holds a digest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "sessions/events.hpp"
#include "store/store.hpp"

namespace latchkey::app {

struct ImportRow {
  enum class Outcome : std::uint8_t { kCreated, kSkipped, kFailed };
  std::size_t line = 0;  // where the row starts in the file (1-based)
  std::string user_id;   // as the file gives it ("" when it has none)
  Outcome outcome = Outcome::kFailed;
  std::string reason;              // why skipped or failed
  std::vector<std::string> notes;  // what a created row lost (no password, phone numbers, ...)
};

struct ImportReport {
  std::vector<ImportRow> rows;
  std::size_t created = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;
};

// Reads the whole CSV text. A file that is not a Clerk export (no header, no `id` column) fails
// with kFormParamInvalid; a store failure fails with the store's error (rows before it stay
// committed). With dry_run nothing is written: the report says what would happen.
// `events` (may be null) gets user.created for every user written, in the row's transaction.
core::Result<ImportReport> import_users(store::Store& store, std::string_view csv, bool dry_run,
                                        const core::Clock& clock, core::Random& random,
                                        sessions::EventSink* events = nullptr);

// The report as text: one line per row that was not simply created without notes, then the
// one-line summary.
std::string format_report(const ImportReport& report, bool dry_run);

}  // namespace latchkey::app
