#pragma once
// The master key encrypts private signing keys and provider secrets at rest (crypto::Sealer).
#include <filesystem>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::tokens {

inline constexpr std::string_view kMasterKeyFile = "master.key";

// What load_or_create_master_key does when `<data_dir>/master.key` does not exist.
enum class MissingKeyFile {
  kCreate,  // first start: nothing is sealed yet, so a new key is created
  kRefuse,  // something sealed with a master key exists (signing keys in the store): a new key
            // could never open it, so none is created and the error says how to recover
};

// Start-up only. If `encryption_key` (keys.encryption_key) is set it must decode (base64 or
// base64url) to 32 bytes. Otherwise `<data_dir>/master.key` holds the key as base64: created on
// first start (data_dir 0700 if missing; the file 0600, written to a temporary file, fsynced,
// then linked into place so a concurrent starter either wins or reads the complete winner) unless
// `missing` is kRefuse, and on later starts refused unless it is a regular file with no
// group/other permission bits and exactly 32 bytes of base64. Errors name the file or the config
// key; they never contain key material.
core::Result<core::Secret> load_or_create_master_key(
    const core::Secret& encryption_key, const std::filesystem::path& data_dir,
    MissingKeyFile missing = MissingKeyFile::kCreate);

}  // namespace latchkey::tokens
