#include "passwords/hasher.hpp"

#include <crypt.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>

namespace latchkey::passwords {
namespace {

constexpr std::string_view kArgon2idPrefix = "$argon2id$";
constexpr std::string_view kArgon2iPrefix = "$argon2i$";

HashSettings clamp(HashSettings s) {
  s.opslimit = std::max<std::uint64_t>(s.opslimit, crypto_pwhash_argon2id_OPSLIMIT_MIN);
  s.memlimit_bytes = std::max<std::size_t>(s.memlimit_bytes, crypto_pwhash_argon2id_MEMLIMIT_MIN);
  return s;
}

// The value of "<key>=<digits>" at the start of `s`, and the rest after it.
std::optional<std::uint64_t> take_param(std::string_view& s, std::string_view key) {
  if (!s.starts_with(key) || s.size() <= key.size() || s[key.size()] != '=') {
    return std::nullopt;
  }
  s.remove_prefix(key.size() + 1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end == s.data()) {
    return std::nullopt;
  }
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return value;
}

// The cost of an argon2 PHC string after its "$argon2id$"/"$argon2i$" prefix:
// "v=19$m=<KiB>,t=<ops>,p=<lanes>$...". Bounds what a stored digest may make verify() spend.
bool argon2_cost_acceptable(std::string_view rest, std::uint64_t max_m_kib, std::uint64_t max_t) {
  if (!take_param(rest, "v") || !rest.starts_with('$')) {
    return false;
  }
  rest.remove_prefix(1);
  const auto m = take_param(rest, "m");
  if (!m || !rest.starts_with(',')) {
    return false;
  }
  rest.remove_prefix(1);
  const auto t = take_param(rest, "t");
  if (!t || !rest.starts_with(',')) {
    return false;
  }
  rest.remove_prefix(1);
  const auto p = take_param(rest, "p");
  return p && rest.starts_with('$') && *m <= max_m_kib && *t <= max_t;
}

// "$2a$", "$2b$" or "$2y$", a two-digit cost, "$", 53 characters of bcrypt's base64 (22 of salt,
// 31 of hash): the only shape accepted, so nothing else ever reaches crypt_rn.
bool bcrypt_shape(std::string_view d, int& cost) {
  if (d.size() != 60 || d[0] != '$' || d[1] != '2' || (d[2] != 'a' && d[2] != 'b' && d[2] != 'y') ||
      d[3] != '$' || d[6] != '$') {
    return false;
  }
  if (d[4] < '0' || d[4] > '9' || d[5] < '0' || d[5] > '9') {
    return false;
  }
  cost = (d[4] - '0') * 10 + (d[5] - '0');
  for (char c : d.substr(7)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '/';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

Hasher::Hasher(HashSettings s) : settings_(clamp(s)) {
  if (sodium_init() < 0) {
    return;  // hash() then fails and reports it; core/random.cpp already refuses to start
  }
  std::array<unsigned char, 32> random{};
  randombytes_buf(random.data(), random.size());
  const core::Secret throwaway(
      std::string(reinterpret_cast<const char*>(random.data()), random.size()));
  sodium_memzero(random.data(), random.size());
  // Out of memory at this cost: dummy_ stays empty, verify_dummy() then spends the same work
  // through crypto_pwhash, and hash() reports the failure where it can be returned.
  if (auto dummy = hash(throwaway)) {
    dummy_ = std::move(*dummy);
  }
}

core::Result<std::string> Hasher::hash(const core::Secret& password) const {
  std::array<char, crypto_pwhash_STRBYTES> out{};
  const auto pw = password.reveal();
  if (crypto_pwhash_str_alg(out.data(), pw.data(), pw.size(), settings_.opslimit,
                            settings_.memlimit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal("crypto_pwhash_str_alg failed (out of memory?)"));
  }
  return std::string(out.data());
}

Verification Hasher::verify_argon2(const core::Secret& password, std::string_view digest,
                                   bool argon2id) const {
  // libsodium reads a NUL-terminated string of at most crypto_pwhash_STRBYTES - 1 characters.
  std::array<char, crypto_pwhash_STRBYTES> str{};
  if (digest.size() >= str.size() || digest.find('\0') != std::string_view::npos) {
    return {};
  }
  const auto prefix = argon2id ? kArgon2idPrefix : kArgon2iPrefix;
  // The bounds, or this Hasher's own cost when an operator configured more.
  const std::uint64_t max_m_kib =
      std::max<std::uint64_t>(kMaxArgon2MemKiB, settings_.memlimit_bytes / 1024);
  const std::uint64_t max_t = std::max<std::uint64_t>(kMaxArgon2Ops, settings_.opslimit);
  if (!argon2_cost_acceptable(digest.substr(prefix.size()), max_m_kib, max_t)) {
    return {};
  }
  std::memcpy(str.data(), digest.data(), digest.size());
  const auto pw = password.reveal();
  if (crypto_pwhash_str_verify(str.data(), pw.data(), pw.size()) != 0) {
    return {};
  }
  Verification v{.match = true, .needs_rehash = true};
  if (argon2id) {
    // 0: the digest's parameters are this Hasher's; 1: they differ; -1: not argon2id.
    v.needs_rehash = crypto_pwhash_str_needs_rehash(str.data(), settings_.opslimit,
                                                    settings_.memlimit_bytes) != 0;
  }
  return v;
}

Verification Hasher::verify(const core::Secret& password, std::string_view digest) const {
  if (digest.starts_with(kArgon2idPrefix)) {
    return verify_argon2(password, digest, true);
  }
  if (digest.starts_with(kArgon2iPrefix)) {
    return verify_argon2(password, digest, false);
  }
  int cost = 0;
  if (!bcrypt_shape(digest, cost) || cost < 4 || cost > kMaxBcryptCost) {
    return {};
  }
  const auto pw = password.reveal();
  // crypt reads a C string: a password with a NUL in it would be checked as its prefix.
  if (pw.find('\0') != std::string_view::npos) {
    return {};
  }
  std::string phrase(pw);
  const std::string setting(digest);
  auto data = std::make_unique<crypt_data>();  // zeroed: crypt_rn reads its `initialized` field
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  bool match = false;
  if (out != nullptr && out[0] != '*') {
    const std::size_t n = std::strlen(out);
    match = n == digest.size() && sodium_memcmp(out, digest.data(), n) == 0;
  }
  // The phrase was copied into `phrase` and `data`: wipe both.
  sodium_memzero(data.get(), sizeof(crypt_data));
  sodium_memzero(phrase.data(), phrase.size());
  return Verification{.match = match, .needs_rehash = match};
}

void Hasher::verify_dummy(const core::Secret& password) const {
  const auto pw = password.reveal();
  // The results are ignored on purpose: what matters is the time it takes.
  if (!dummy_.empty()) {
    const int ignored = crypto_pwhash_str_verify(dummy_.c_str(), pw.data(), pw.size());
    static_cast<void>(ignored);
    return;
  }
  std::array<unsigned char, 32> out{};
  const std::array<unsigned char, crypto_pwhash_SALTBYTES> salt{};
  const int ignored =
      crypto_pwhash(out.data(), out.size(), pw.data(), pw.size(), salt.data(), settings_.opslimit,
                    settings_.memlimit_bytes, crypto_pwhash_ALG_ARGON2ID13);
  static_cast<void>(ignored);
  sodium_memzero(out.data(), out.size());
}

}  // namespace latchkey::passwords
