#pragma once
// The mail drop of a server under test (<data_dir>/mail/*.eml: where messages go with no SMTP
// server configured), read as a developer would read it: the codes mailed to an address.
#include <filesystem>
#include <string>
#include <vector>

namespace latchkey::test {

// The messages to `to` (a "To: <to>" header), oldest first.
std::vector<std::string> mails_to(const std::filesystem::path& data_dir, const std::string& to);
// The 6-digit code of the newest message to `to`, once at least `count` messages reached it
// (waits up to 10 s for the delivery worker; adds a gtest failure and returns "" otherwise).
std::string mailed_code(const std::filesystem::path& data_dir, const std::string& to,
                        std::size_t count = 1);

// The email link (.../v1/verify?token=...) of the newest message to `to`, once at least `count`
// messages reached it, with the quoted-printable soft breaks and escapes of the text part undone.
std::string mailed_link(const std::filesystem::path& data_dir, const std::string& to,
                        std::size_t count = 1);

}  // namespace latchkey::test
