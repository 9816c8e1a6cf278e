#pragma once
// An RFC 4180 CSV reader (and the matching writer), for `latchkey users import`. It depends on
// nothing but the standard library so the fuzz build compiles it alone (fuzz/fuzz_csv.cpp).
//
// What it accepts, beyond the RFC's strict grammar (what spreadsheets and exporters write):
// - records end in CRLF, LF or a lone CR; the last record may have no line end;
// - a UTF-8 byte order mark at the very start is skipped;
// - quoted fields may hold separators, line ends (the record then spans lines) and "" for a quote;
// - a line with no characters at all is no record (a blank line between records is skipped).
// What it refuses, per record, with the line where the record starts (1-based, counting the
// line ends inside quoted fields): a quote inside an unquoted field, anything but a separator or
// a line end after a closing quote, a quoted field still open at the end of the input, a field
// over Limits::max_field_bytes, a record over Limits::max_fields. After such an error the reader
// skips to the next line end outside quotes (an unterminated quote consumes the rest), so one bad
// record does not hide the next ones.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::app::csv {

struct Limits {
  std::size_t max_field_bytes = 64 * 1024;
  std::size_t max_fields = 1024;
};

struct Record {
  std::size_t line = 0;              // where the record starts, 1-based
  std::vector<std::string> fields;   // empty when error is set
  std::optional<std::string> error;  // why the record was refused (our own words)

  bool operator==(const Record&) const = default;
};

class Reader {
 public:
  explicit Reader(std::string_view text, Limits limits = {});

  // The next record, or nullopt at the end of the input.
  std::optional<Record> next();

 private:
  void skip_bad_record(bool quoted);
  bool at_line_end() const;
  void consume_line_end();

  std::string_view text_;
  Limits limits_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// Every record of `text` (Reader until the end).
std::vector<Record> parse(std::string_view text, Limits limits = {});

// One record as RFC 4180 text ending in CRLF: a field is quoted when it holds a comma, a quote,
// CR or LF, or when it is the only field and empty (so the record is not a blank line).
std::string write_record(const std::vector<std::string>& fields);

}  // namespace latchkey::app::csv
