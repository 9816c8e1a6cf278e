// app::csv::Reader / write_record (src/app/csv.hpp): the user export CSV that `latchkey users
// import` reads, and flows::canonical_email on its cells. The first input byte picks the limits
// (defaults or tight ones). Checks, besides "no crash, no sanitizer report":
//  - every record starts on a later line than the one before; a refused record has no fields;
//    an accepted one has 1..max_fields fields of at most max_field_bytes;
//  - round trip: parse(write_record(r) for the accepted records) gives them back, none refused;
//  - without any quote in the input (default limits), the records are exactly the input's
//    non-blank lines split at commas (a reference splitter; BOM skipped);
//  - canonical_email is idempotent on every cell it accepts.
#include "app/csv.hpp"
#include "flows/identifiers.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace latchkey;

std::vector<std::vector<std::string>> reference_split(std::string_view in) {
  if (in.starts_with("\xEF\xBB\xBF")) {
    in.remove_prefix(3);
  }
  std::vector<std::vector<std::string>> out;
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t end = in.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      end = in.size();
    }
    const std::string_view line = in.substr(i, end - i);
    if (!line.empty()) {
      std::vector<std::string> fields;
      std::size_t s = 0;
      while (true) {
        const std::size_t c = line.find(',', s);
        fields.emplace_back(line.substr(s, c == std::string_view::npos ? line.size() - s : c - s));
        if (c == std::string_view::npos) {
          break;
        }
        s = c + 1;
      }
      out.push_back(std::move(fields));
    }
    i = end + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Reader in(data, size);
  const auto selector = in.byte();
  const std::string input = in.rest();

  app::csv::Limits limits;
  const bool tight = (selector & 1U) != 0;
  if (tight) {
    limits = {.max_field_bytes = 8, .max_fields = 4};
  }
  const auto records = app::csv::parse(input, limits);
  std::size_t last_line = 0;
  // A BOM first: the reader skips one at the start, so a first field that begins with one (from a
  // later record of the input) survives the round trip.
  std::string again = "\xEF\xBB\xBF";
  std::vector<std::vector<std::string>> accepted;
  for (const auto& r : records) {
    FUZZ_CHECK(r.line > last_line);
    last_line = r.line;
    if (r.error) {
      FUZZ_CHECK(r.fields.empty());
      continue;
    }
    FUZZ_CHECK(!r.fields.empty() && r.fields.size() <= limits.max_fields);
    for (const auto& f : r.fields) {
      FUZZ_CHECK(f.size() <= limits.max_field_bytes);
      if (auto e = flows::canonical_email(f, "email_address")) {
        auto twice = flows::canonical_email(*e, "email_address");
        FUZZ_CHECK(twice.has_value() && *twice == *e);
      }
    }
    again += app::csv::write_record(r.fields);
    accepted.push_back(r.fields);
  }
  const auto back =
      app::csv::parse(again, app::csv::Limits{.max_field_bytes = 1U << 24, .max_fields = 1U << 20});
  FUZZ_CHECK(back.size() == accepted.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    FUZZ_CHECK(!back[i].error.has_value());
    FUZZ_CHECK(back[i].fields == accepted[i]);
  }
  if (!tight && input.find('"') == std::string::npos) {
    FUZZ_CHECK(accepted.size() == records.size());
    FUZZ_CHECK(accepted == reference_split(input));
  }
  return 0;
}
