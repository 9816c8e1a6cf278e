#pragma once
// The binary wire forms: every parameter is sent in binary with an explicit type (Params), every
// result is read in binary (ResultRow, the sql::RowReader over one PGresult row).
#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql/rows.hpp"
#include "store/sql/values.hpp"

namespace latchkey::store::postgres {

// Built-in type OIDs (fixed by PostgreSQL's catalog; pg_type_d.h is a server header).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kTextArrayOid = 1009;
constexpr Oid kInt8ArrayOid = 1016;

// One-dimensional arrays without nulls (text[], bigint[]), for statements over a batch (unnest).
struct TextArray {
  const std::vector<std::string_view>* items;
};
struct Int8Array {
  const std::vector<std::int64_t>* items;
};

inline void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8U * static_cast<unsigned>(i))) & 0xffU));
  }
}

// The binary array format of array_recv: ndim, has-nulls flag, element type, then per dimension
// its length and lower bound (1), then each element as a 4-byte length and its bytes.
template <typename Items, typename Put>
std::string binary_array(Oid element, const Items& items, Put put) {
  std::string out;
  put_be(out, items.empty() ? 0 : 1, 4);
  put_be(out, 0, 4);
  put_be(out, element, 4);
  if (!items.empty()) {
    put_be(out, items.size(), 4);
    put_be(out, 1, 4);
  }
  for (const auto& item : items) {
    put(out, item);
  }
  return out;
}

class Params {
 public:
  void add(std::string_view v) { push(kTextOid, v); }
  void add(const std::string& v) { push(kTextOid, v); }
  void add(std::int64_t v) {
    std::array<char, 8> b{};
    auto u = static_cast<std::uint64_t>(v);
    for (int i = 7; i >= 0; --i) {
      b[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xffU);
      u >>= 8U;
    }
    push(kInt8Oid, std::string_view(b.data(), b.size()));
  }
  void add(int v) { add(static_cast<std::int64_t>(v)); }
  void add(bool v) { push(kBoolOid, v ? std::string_view("\1", 1) : std::string_view("\0", 1)); }
  void add(const std::optional<std::string>& v) { v ? add(*v) : push_null(kTextOid); }
  void add(const std::optional<std::int64_t>& v) { v ? add(*v) : push_null(kInt8Oid); }
  void add(sql::Blob v) { push(kByteaOid, *v.bytes); }
  void add(sql::OptBlob v) { *v.bytes ? add(sql::Blob{&**v.bytes}) : push_null(kByteaOid); }
  void add(TextArray v) {
    push(kTextArrayOid,
         binary_array(kTextOid, *v.items, [](std::string& out, std::string_view item) {
           put_be(out, item.size(), 4);
           out.append(item);
         }));
  }
  void add(Int8Array v) {
    push(kInt8ArrayOid, binary_array(kInt8Oid, *v.items, [](std::string& out, std::int64_t item) {
           put_be(out, 8, 4);
           put_be(out, static_cast<std::uint64_t>(item), 8);
         }));
  }

  // Pointers into data_: valid until the next add().
  void seal() {
    ptrs_.clear();
    for (std::size_t i = 0; i < data_.size(); ++i) {
      ptrs_.push_back(null_[i] ? nullptr : data_[i].data());
    }
  }
  [[nodiscard]] int size() const { return static_cast<int>(types_.size()); }
  [[nodiscard]] const Oid* types() const { return types_.data(); }
  [[nodiscard]] const char* const* values() const { return ptrs_.data(); }
  [[nodiscard]] const int* lengths() const { return lengths_.data(); }
  [[nodiscard]] const int* formats() const { return formats_.data(); }

 private:
  void push(Oid type, std::string_view v) {
    types_.push_back(type);
    data_.emplace_back(v);
    null_.push_back(false);
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(1);
  }
  void push_null(Oid type) {
    types_.push_back(type);
    data_.emplace_back();
    null_.push_back(true);
    lengths_.push_back(0);
    formats_.push_back(1);
  }
  std::vector<Oid> types_;
  std::vector<std::string> data_;
  std::vector<bool> null_;
  std::vector<const char*> ptrs_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// ---- reading binary results ---------------------------------------------------------------------

struct ResultRow {
  const PGresult* res;
  int row;

  [[nodiscard]] bool null(int c) const { return PQgetisnull(res, row, c) != 0; }
  [[nodiscard]] std::string text(int c) const {  // text and bytea: raw bytes in binary format
    return std::string(PQgetvalue(res, row, c), static_cast<std::size_t>(PQgetlength(res, row, c)));
  }
  [[nodiscard]] std::optional<std::string> opt_text(int c) const {
    return null(c) ? std::nullopt : std::optional<std::string>(text(c));
  }
  [[nodiscard]] std::int64_t i64(int c) const {
    if (null(c) || PQgetlength(res, row, c) != 8) {
      return 0;  // every integer column is BIGINT (migrations/postgres); nothing else reaches here
    }
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(res, row, c));
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) {
      u = (u << 8U) | p[i];
    }
    return static_cast<std::int64_t>(u);
  }
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int c) const {
    return null(c) ? std::nullopt : std::optional<std::int64_t>(i64(c));
  }
  [[nodiscard]] bool boolean(int c) const {
    return !null(c) && PQgetlength(res, row, c) == 1 && PQgetvalue(res, row, c)[0] != 0;
  }
};

static_assert(sql::RowReader<ResultRow>);

}  // namespace latchkey::store::postgres
