#include "tokens/master_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "core/base64.hpp"

namespace latchkey::tokens {
namespace {

namespace fs = std::filesystem;
using core::Code;

constexpr std::size_t kKeyBytes = 32;

core::Error startup_error(std::string message) {
  core::Error e(Code::kInternal, message);
  e.internal = std::move(message);
  return e;
}

std::string errno_text(int err) { return std::strerror(err); }

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  [[nodiscard]] int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

// 32 bytes from base64 (standard, padded) or base64url; nullopt otherwise.
std::optional<core::Secret> decode_key(std::string_view text) {
  text = trim(text);
  auto bytes = core::base64_decode(text);
  if (!bytes) {
    bytes = core::base64url_decode(text);
  }
  if (!bytes) {
    return std::nullopt;
  }
  if (bytes->size() != kKeyBytes) {
    sodium_memzero(bytes->data(), bytes->size());
    return std::nullopt;
  }
  return core::Secret(std::move(*bytes));
}

// nullopt when the file does not exist.
std::optional<core::Result<core::Secret>> read_key_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return std::nullopt;
    }
    return std::unexpected(
        startup_error("cannot open master key file " + path.string() + ": " + errno_text(err)));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(startup_error("cannot stat master key file " + path.string()));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(
        startup_error("master key file " + path.string() + " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    std::array<char, 8> mode{};
    std::snprintf(mode.data(), mode.size(), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::unexpected(startup_error(
        "master key file " + path.string() + " has mode " + mode.data() +
        ": it must not be accessible by group or others (run: chmod 600 " + path.string() + ")"));
  }
  std::string text(512, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(startup_error("cannot read master key file " + path.string()));
    }
    if (n == 0) {
      break;
    }
    used += static_cast<std::size_t>(n);
  }
  auto key = decode_key(std::string_view(text.data(), used));
  sodium_memzero(text.data(), text.size());
  if (!key) {
    return std::unexpected(startup_error("master key file " + path.string() +
                                         " is malformed: expected 32 bytes, base64-encoded"));
  }
  return std::move(*key);
}

core::Status ensure_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    return {};
  }
  if (dir.has_parent_path() && !dir.parent_path().empty()) {
    fs::create_directories(dir.parent_path(), ec);
    if (ec) {
      return std::unexpected(startup_error("cannot create data directory " +
                                           dir.parent_path().string() + ": " + ec.message()));
    }
  }
  // The data directory holds the database and the key: owner only.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(
        startup_error("cannot create data directory " + dir.string() + ": " + errno_text(errno)));
  }
  return {};
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void fsync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) {
    ::fsync(fd.get());
  }
}

core::Result<core::Secret> create_key_file(const fs::path& dir, const fs::path& path) {
  if (sodium_init() < 0) {
    return std::unexpected(startup_error("libsodium initialisation failed"));
  }
  std::string raw(kKeyBytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string text = core::base64_encode(raw) + "\n";
  std::array<unsigned char, 8> tag{};
  randombytes_buf(tag.data(), tag.size());
  const fs::path tmp =
      dir / (std::string(kMasterKeyFile) + ".tmp." + std::to_string(::getpid()) + "." +
             core::base64url_encode(
                 std::string_view(reinterpret_cast<const char*>(tag.data()), tag.size())));
  auto cleanup = [&] {
    sodium_memzero(text.data(), text.size());
    sodium_memzero(raw.data(), raw.size());
  };
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      cleanup();
      return std::unexpected(startup_error("cannot create master key file in " + dir.string() +
                                           ": " + errno_text(errno)));
    }
    const bool ok = ::fchmod(fd.get(), 0600) == 0 && write_all(fd.get(), text) &&
                    ::fsync(fd.get()) == 0 && ::close(fd.release()) == 0;
    if (!ok) {
      cleanup();
      ::unlink(tmp.c_str());
      return std::unexpected(startup_error("cannot write master key file " + tmp.string()));
    }
  }
  // link() never replaces an existing file: exactly one concurrent starter wins, and the
  // others read the winner's complete file.
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    cleanup();
    if (err == EEXIST) {
      auto existing = read_key_file(path);
      if (existing) {
        return std::move(*existing);
      }
    }
    return std::unexpected(
        startup_error("cannot create master key file " + path.string() + ": " + errno_text(err)));
  }
  fsync_dir(dir);
  sodium_memzero(text.data(), text.size());
  return core::Secret(std::move(raw));
}

}  // namespace

core::Result<core::Secret> load_or_create_master_key(const core::Secret& encryption_key,
                                                     const std::filesystem::path& data_dir,
                                                     MissingKeyFile missing) {
  if (!encryption_key.empty()) {
    auto key = decode_key(encryption_key.reveal());
    if (!key) {
      return std::unexpected(
          startup_error("keys.encryption_key: must be 32 bytes, base64-encoded"));
    }
    return std::move(*key);
  }
  if (auto st = ensure_dir(data_dir); !st) {
    return std::unexpected(std::move(st.error()));
  }
  const fs::path path = data_dir / kMasterKeyFile;
  if (auto existing = read_key_file(path)) {
    return std::move(*existing);
  }
  if (missing == MissingKeyFile::kRefuse) {
    // The keys sealed with the lost file stay unreadable whatever we write now, and a new file
    // would hide the loss on the next start: refuse, and leave the data directory as it is.
    return std::unexpected(startup_error(
        "master key file " + path.string() +
        " is missing, but the database holds signing keys sealed with it; no new key was "
        "created. Restore " +
        std::string(kMasterKeyFile) + " from a backup into " + data_dir.string() +
        " (mode 0600), or set keys.encryption_key (LATCHKEY_KEYS_ENCRYPTION_KEY) to the key "
        "that sealed them"));
  }
  return create_key_file(data_dir, path);
}

}  // namespace latchkey::tokens
