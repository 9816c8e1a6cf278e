#pragma once
// Password hashing (argon2id through libsodium) and verification of argon2id and imported bcrypt
// digests. Nothing here logs, and no error carries the password.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::passwords {

// The argon2id cost. The defaults are OWASP's floor for argon2id: m=19 MiB, t=2, p=1 (libsodium
// always uses one lane). Values below libsodium's minimum (t=1, m=8 KiB) are raised to it.
struct HashSettings {
  std::uint64_t opslimit = 2;
  std::size_t memlimit_bytes = 19 * 1024 * 1024;
};

// match: the password is the one the digest was made from. needs_rehash: it matched and the digest
// should be replaced by hash() of the same password (a bcrypt or argon2i digest, or argon2id at
// other parameters than the Hasher's); always false when match is false.
struct Verification {
  bool match = false;
  bool needs_rehash = false;
};

class Hasher {
 public:
  explicit Hasher(HashSettings s);

  [[nodiscard]] const HashSettings& settings() const { return settings_; }

  // A PHC string "$argon2id$v=19$m=<KiB>,t=<ops>,p=1$<salt>$<hash>" with a fresh random salt.
  // Fails (kInternal) only when libsodium cannot allocate the memory the cost asks for.
  [[nodiscard]] core::Result<std::string> hash(const core::Secret& password) const;

  // Verifies against an argon2id (or argon2i) PHC string or a bcrypt digest ($2a$, $2b$, $2y$;
  // libcrypt's crypt_rn, compared in constant time). An unknown, garbled or truncated digest, or
  // one whose cost is beyond the bounds below (kMaxArgon2MemKiB, kMaxArgon2Ops, kMaxBcryptCost: a
  // tampered or absurd row must not stall a worker), gives match=false; this never throws.
  [[nodiscard]] Verification verify(const core::Secret& password, std::string_view digest) const;

  // The same work as a failed verify() against an argon2id digest of these settings (a dummy
  // digest made once at construction), so an unknown identifier costs what a wrong password costs.
  void verify_dummy(const core::Secret& password) const;

  static constexpr std::uint64_t kMaxArgon2MemKiB = 1024 * 1024;  // 1 GiB
  static constexpr std::uint64_t kMaxArgon2Ops = 64;
  static constexpr int kMaxBcryptCost = 18;  // 2^18 rounds: seconds per check

 private:
  [[nodiscard]] Verification verify_argon2(const core::Secret& password, std::string_view digest,
                                           bool argon2id) const;

  HashSettings settings_;
  std::string dummy_;  // an argon2id digest of a random password at settings_
};

}  // namespace latchkey::passwords
