// RFC 4180 reader and writer (app/csv.hpp).
#include "app/csv.hpp"

namespace latchkey::app::csv {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

Reader::Reader(std::string_view text, Limits limits) : text_(text), limits_(limits) {
  if (text_.starts_with(kBom)) {
    pos_ = kBom.size();
  }
}

bool Reader::at_line_end() const {
  return pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r');
}

void Reader::consume_line_end() {
  if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
    ++pos_;
  }
  ++pos_;
  ++line_;
}

void Reader::skip_bad_record(bool quoted) {
  // To the next line end outside quotes, reading the rest of the record as next() would: a quote
  // opens a quoted part only at the start of a field (so a stray quote in an unquoted field does
  // not swallow the lines after it), and inside one "" is a quote and a lone " closes it.
  bool field_start = false;
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (quoted) {
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          pos_ += 2;
          continue;
        }
        quoted = false;
        ++pos_;
      } else if (c == '\n' || c == '\r') {
        consume_line_end();
      } else {
        ++pos_;
      }
      continue;
    }
    if (c == '\n' || c == '\r') {
      consume_line_end();
      return;
    }
    quoted = field_start && c == '"';
    field_start = c == ',';
    ++pos_;
  }
}

std::optional<Record> Reader::next() {
  // Blank lines are no records.
  while (at_line_end()) {
    consume_line_end();
  }
  if (pos_ >= text_.size()) {
    return std::nullopt;
  }
  Record rec;
  rec.line = line_;
  auto refuse = [&](std::string why, bool in_quotes = false) {
    rec.fields.clear();
    rec.error = std::move(why);
    skip_bad_record(in_quotes);
    return rec;
  };
  std::string field;
  while (true) {
    field.clear();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      ++pos_;
      while (true) {
        // The limit before anything else: every byte appended (a "" escape included) is checked
        // on the next turn, and a field may end exactly at the limit.
        if (field.size() > limits_.max_field_bytes) {
          return refuse(
              "a field is longer than " + std::to_string(limits_.max_field_bytes) + " bytes", true);
        }
        if (pos_ >= text_.size()) {
          rec.fields.clear();
          rec.error = "a quoted field is not closed before the end of the file";
          return rec;
        }
        const char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            field.push_back('"');
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\r' || c == '\n') {
          // A line end inside quotes is data; count it (CRLF as one line).
          if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
            field.push_back('\r');
            ++pos_;
          }
          field.push_back(text_[pos_]);
          ++pos_;
          ++line_;
        } else {
          field.push_back(c);
          ++pos_;
        }
      }
      if (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
        return refuse("unexpected character after a closing quote");
      }
    } else {
      while (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
        if (text_[pos_] == '"') {
          return refuse("a quote inside an unquoted field");
        }
        field.push_back(text_[pos_]);
        ++pos_;
        if (field.size() > limits_.max_field_bytes) {
          return refuse("a field is longer than " + std::to_string(limits_.max_field_bytes) +
                        " bytes");
        }
      }
    }
    rec.fields.push_back(field);
    if (rec.fields.size() > limits_.max_fields) {
      return refuse("more than " + std::to_string(limits_.max_fields) + " fields");
    }
    if (pos_ >= text_.size()) {
      return rec;
    }
    if (at_line_end()) {
      consume_line_end();
      return rec;
    }
    ++pos_;  // the comma
  }
}

std::vector<Record> parse(std::string_view text, Limits limits) {
  std::vector<Record> out;
  Reader reader(text, limits);
  while (auto rec = reader.next()) {
    out.push_back(std::move(*rec));
  }
  return out;
}

std::string write_record(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    const std::string& f = fields[i];
    const bool quote =
        f.find_first_of(",\"\r\n") != std::string::npos || (fields.size() == 1 && f.empty());
    if (!quote) {
      out += f;
      continue;
    }
    out.push_back('"');
    for (char c : f) {
      if (c == '"') {
        out.push_back('"');
      }
      out.push_back(c);
    }
    out.push_back('"');
  }
  out += "\r\n";
  return out;
}

}  // namespace latchkey::app::csv
