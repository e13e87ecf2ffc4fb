#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "util/child_process.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::test_support {

inline constexpr const char* kSystemPython = "/usr/bin/python3";

// Why the aiosmtpd test server cannot run here, or "" when it can.
inline std::string smtp_server_missing() {
  if (!std::filesystem::exists(kSystemPython)) return "/usr/bin/python3 is missing";
  if (std::system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") != 0) {
    return "python3-aiosmtpd is not installed (scripts/deps installs it)";
  }
  return {};
}

// A self-signed certificate for 127.0.0.1 and localhost, made at run time
// (never committed): cert.pem doubles as the CA file the client trusts.
struct TestCertificate {
  std::filesystem::path cert;
  std::filesystem::path key;

  static TestCertificate create(const std::filesystem::path& dir) {
    TestCertificate made{dir / "cert.pem", dir / "key.pem"};
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
        made.key.string() + "' -out '" + made.cert.string() + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("openssl could not make a test certificate");
    return made;
  }
};

struct SmtpServerOptions {
  double delay_s = 0;                            // pause in DATA before storing
  std::optional<TestCertificate> certificate{};  // STARTTLS (required), or implicit TLS
  bool implicit_tls = false;
  std::string auth{};  // "user:password" the server accepts; empty: no AUTH
  int port = 0;        // 0: a free port
};

// The aiosmtpd server of smtp_test_server.py on 127.0.0.1, writing what it
// receives to a directory of its own; stopped on destruction.
class TestSmtpServer {
 public:
  TestSmtpServer(const std::filesystem::path& dir, SmtpServerOptions options)
      : dir_(dir), port_(options.port != 0 ? options.port : free_tcp_port()) {
    std::filesystem::create_directories(dir_ / "received");
    std::vector<std::string> argv = {kSystemPython, VOICEDESK_SMTP_TEST_SERVER,
                                     "--port",      std::to_string(port_),
                                     "--dir",       (dir_ / "received").string()};
    if (options.delay_s > 0) argv.insert(argv.end(), {"--delay", std::to_string(options.delay_s)});
    if (options.certificate) {
      argv.insert(argv.end(), {"--cert", options.certificate->cert.string(), "--key",
                               options.certificate->key.string()});
    }
    if (options.implicit_tls) argv.emplace_back("--implicit-tls");
    if (!options.auth.empty()) argv.insert(argv.end(), {"--auth", options.auth});
    process_ = std::make_unique<ChildProcess>(argv, dir_ / "server.log");
    process_->wait_for_port(port_);
  }

  int port() const { return port_; }
  void stop() { process_->stop(); }

  // Files of one kind in the received directory, by name.
  std::vector<std::filesystem::path> files(const std::string& extension) const {
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ / "received")) {
      if (entry.path().extension() == extension) found.push_back(entry.path());
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  // The JSON records of the messages stored so far.
  std::vector<nlohmann::json> received() const {
    std::vector<nlohmann::json> records;
    for (const auto& path : files(".json")) {
      std::ifstream in(path);
      records.push_back(nlohmann::json::parse(in));
    }
    return records;
  }

  // Waits until at least count messages are stored; returns them.
  std::vector<nlohmann::json> wait_for(
      std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (files(".json").size() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return received();
  }

  std::string raw_of(const std::filesystem::path& json_path) const {
    std::filesystem::path eml = json_path;
    eml.replace_extension(".eml");
    std::ifstream in(eml, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  std::string log() const { return process_->log_text(); }

 private:
  std::filesystem::path dir_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace voicedesk::test_support
