#include "support/smtp_sink.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace latchkey::test {

SmtpSink::SmtpSink() : SmtpSink(Options{}) {}

SmtpSink::SmtpSink(Options options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("smtp sink: pipe failed");
  }
  std::vector<std::string> args{LATCHKEY_PYTHON, LATCHKEY_SMTP_SINK_SCRIPT,   "--dir", dir_.str(),
                                "--port",        std::to_string(options.port)};
  args.push_back("--tls");
  args.push_back(options.tls);
  if (!options.auth.empty()) {
    args.push_back("--auth");
    args.push_back(options.auth);
  }
  pid_ = ::fork();
  if (pid_ < 0) {
    throw std::runtime_error("smtp sink: fork failed");
  }
  if (pid_ == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  // Read ["CERT <path>\n"] "PORT <n>\n" within a deadline.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find("PORT ") == std::string::npos ||
         line.find('\n', line.find("PORT ")) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[64];
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      line.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fds[0]);
  if (line.starts_with("CERT ")) {
    cert_ = line.substr(5, line.find('\n') - 5);
    line = line.substr(line.find('\n') + 1);
  }
  if (!line.starts_with("PORT ")) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw std::runtime_error("smtp sink did not start (is python3-aiosmtpd installed?): " + line);
  }
  port_ = std::stoi(line.substr(5));
}

SmtpSink::~SmtpSink() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
}

std::vector<std::string> SmtpSink::messages() const {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    if (entry.path().extension() == ".eml") {
      files.push_back(entry.path());
    }
  }
  std::ranges::sort(files);
  std::vector<std::string> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

bool SmtpSink::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (messages().size() < n) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

int SmtpSink::reserve_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("socket failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

}  // namespace latchkey::test
